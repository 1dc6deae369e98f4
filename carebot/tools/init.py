"""``carebot init``: a first run, from nothing to a group with its first coordinator invited.

It writes the settings file (with a new key, readable by its owner only), makes the
database, creates the first group and invites its first coordinator (one text, answered
YES before anything else: the same consent as every invitation). Given Twilio's
credentials and the public URL, it offers ``carebot twilio connect``.

Every answer is checked before anything is written, so a mistake costs a question asked
again (interactively) or one line (with ``--yes``), never a half-made deployment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carebot.domain.config import Settings
from carebot.domain.phone import normalize_phone
from carebot.domain.startup import SETTINGS, Refusal

Ask = Callable[[str, str | None, Callable[[str], str]], str]


class InitProblem(Refusal):
    """An answer that cannot be used, or a settings file that is already there."""

    def __init__(self, message: str) -> None:
        super().__init__(f"carebot init: {message}", SETTINGS)


@dataclass
class Answers:
    """What init needs; None is "not given": asked interactively, else a default or nothing."""

    database_url: str | None = None
    public_url: str | None = None
    account_sid: str | None = None
    auth_token: str | None = None
    twilio_from: str | None = None
    messaging_service_sid: str | None = None
    keyword: str | None = None
    group_name: str | None = None
    timezone: str | None = None
    language: str = "en"
    coordinator: str | None = None
    coordinator_name: str | None = None
    utc_for_want_of_tz: bool = False  # --yes without --tz: said so, since the group's daytime follows it


# --- checking one answer (each raises ValueError with what to write instead) --------------

def timezone(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a timezone: write a name like America/Chicago") from None
    return value.strip()


def number(value: str) -> str:
    if normalize_phone(value) is None:
        raise ValueError(f"{value!r} is not a phone number: write it with its country code, e.g. +15155550100")
    return value.strip()


def keyword(value: str) -> str:
    from carebot.services.groups import _KEYWORD  # the rule `carebot group add` applies

    word = value.strip().upper()
    if not _KEYWORD.match(word):
        raise ValueError(f"{value!r} cannot be a keyword: one word of 2 to 16 letters and digits, starting with a letter, "
                         "e.g. CIRCLE")
    return word


def url_or_blank(value: str) -> str:
    from carebot.domain.config import public_base_url  # what serve and check require of CAREBOT_PUBLIC_URL

    return public_base_url(value) if value.strip() else ""


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("it cannot be empty")
    return value.strip()


def anything(value: str) -> str:
    return value.strip()


# --- the run ---------------------------------------------------------------------------

QUESTIONS: list[tuple[str, str, Callable[[str], str], bool]] = [
    # (field, question, check, asked only when Twilio is being set up)
    ("keyword", "The group's keyword (members text JOIN and this word)", keyword, False),
    ("group_name", "The group's name, as members see it", text, False),
    ("timezone", "The group's timezone (e.g. America/Chicago)", timezone, False),
    ("coordinator", "The first coordinator's phone number (e.g. +15155550100)", number, False),
    ("coordinator_name", "The first coordinator's name", text, False),
    ("public_url", "The public https address Twilio reaches carebot at (blank: set it later)", url_or_blank, False),
    ("account_sid", "Twilio Account SID (blank: set it later)", anything, False),
    ("auth_token", "Twilio Auth Token", text, True),
    ("twilio_from", "Your Twilio number (e.g. +15155550100; blank if you use a Messaging Service)", anything, True),
    ("messaging_service_sid", "Messaging Service SID (MG..., blank for none)", anything, True),
]


def gather(given: Answers, ask: Ask | None) -> Answers:
    """Fill in what was not given by asking (``ask`` None: --yes, nothing asked); check every answer."""
    for name, question, check, twilio_only in QUESTIONS:
        if twilio_only and not given.account_sid:
            continue
        value = getattr(given, name)
        if value is None and ask is not None:
            value = ask(question, None, check)
        elif value is not None and value.strip():
            try:
                value = check(value)
            except ValueError as problem:
                raise InitProblem(f"{name.replace('_', '-')}: {problem}") from None
        setattr(given, name, value or None)
    # The options' own names (the keyword is --group), all the missing ones in one line.
    missing = [option for name, option in (("keyword", "--group"), ("group_name", "--group-name"),
                                           ("coordinator", "--coordinator")) if getattr(given, name) is None]
    if missing:
        raise InitProblem(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed with --yes")
    given.utc_for_want_of_tz = given.timezone is None
    given.timezone = given.timezone or "UTC"
    _twilio_together(given)
    return given


def _twilio_together(given: Answers) -> None:
    """Twilio's settings go together (as `carebot serve` needs them): any one given, name each still missing."""
    if not (given.account_sid or given.auth_token or given.twilio_from or given.messaging_service_sid):
        return
    missing = [option for value, option in ((given.account_sid, "--twilio-account-sid"),
                                            (given.auth_token, "--twilio-auth-token")) if not value]
    if not (given.twilio_from or given.messaging_service_sid):
        missing.append("--twilio-from or --twilio-messaging-service-sid")
    if missing:
        raise InitProblem("Twilio's settings go together: give " + ", and ".join(missing)
                          + " (or none of them, and set Twilio up later)")


def settings_text(answers: Answers, secret: str) -> str:
    lines = ["# Written by `carebot init`; .env.example explains each setting. Keep this file private:",
             "# CAREBOT_SECRET_KEY encrypts every phone number (keep a copy apart from the backups).",
             f"CAREBOT_DATABASE_URL={answers.database_url}",
             f"CAREBOT_SECRET_KEY={secret}",
             f"CAREBOT_DEFAULT_TIMEZONE={answers.timezone}"]
    for name, value in [("CAREBOT_PUBLIC_URL", answers.public_url), ("TWILIO_ACCOUNT_SID", answers.account_sid),
                        ("TWILIO_AUTH_TOKEN", answers.auth_token), ("TWILIO_FROM", answers.twilio_from),
                        ("TWILIO_MESSAGING_SERVICE_SID", answers.messaging_service_sid)]:
        if value:
            lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def write_settings(path: Path, content: str, *, force: bool) -> None:
    """The file made readable and writable by its owner only, from its first byte."""
    if path.exists() and not force:
        raise InitProblem(f"{path} already exists (it holds the key of a database, perhaps): "
                          "keep it, or run again with --force to replace it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as error:
        raise InitProblem(f"cannot write {path} ({error.strerror}): choose another --env-file, or run it as "
                          "the user that owns that directory; nothing was written") from None
    os.fchmod(descriptor, 0o600)  # an existing file replaced with --force keeps no wider mode
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(content)


def run(given: Answers, env_path: Path, *, ask: Ask | None, echo: Callable[[str], None], force: bool) -> Answers:
    """Everything init does, up to (not including) connecting Twilio; the answers as used."""
    from carebot.domain import clock
    from carebot.services.coordination import invite
    from carebot.services.groups import GroupError, add_group
    from carebot.store import crypto
    from carebot.store.db import check_key, upgrade

    if env_path.exists() and not force:  # said before any question, not after all of them
        write_settings(env_path, "", force=False)
    if not env_path.parent.is_dir():
        raise InitProblem(f"cannot write {env_path}: its directory {env_path.parent} is not there (make it "
                          "first, or choose another --env-file); nothing was written")
    answers = gather(given, ask)
    answers.database_url = answers.database_url or f"sqlite:///{env_path.resolve().parent / 'carebot.sqlite'}"
    # A key already in the environment wins over any file's, so it is the one written, else every later
    # command would open the database under another key than the one it was made with.
    inherited = os.environ.get(crypto.ENV, "").strip()
    secret = inherited or crypto.new_secret()
    # The database is reached before the settings file is written: a URL that cannot be used is one
    # line and leaves nothing behind, so the run with it fixed is not refused for "already exists".
    made, database = _open_the_database(answers.database_url)
    try:
        try:
            _refuse_to_lose_its_key(database, secret, env_path)
            write_settings(env_path, settings_text(answers, secret), force=force)
        except InitProblem:
            database.dispose()
            for part in ([made, made.with_name(made.name + "-wal"), made.with_name(made.name + "-shm")]
                         if made is not None else []):
                part.unlink(missing_ok=True)  # the empty database this run made: nothing is left behind
            raise
        echo(f"Wrote {env_path} (readable by you only), with "
             + ("the secret key set in the environment." if inherited else "a new secret key."))

        from carebot.domain.config import ENV_FILE

        os.environ[ENV_FILE] = str(env_path)  # what this process does next reads the new file
        os.environ[crypto.ENV] = secret
        crypto.configure(secret)
        upgrade(database.url)
        check_key(database)
        echo("Made the database.")
        try:
            with database.transaction() as session:
                group = add_group(session, keyword=answers.keyword or "", name=answers.group_name or "",
                                  timezone=answers.timezone or "UTC", language=answers.language, now=clock.now())
                outcome = invite(session, group, answers.coordinator or "", answers.coordinator_name, None,
                                 clock.now(), role="coordinator")
        except GroupError as error:
            raise InitProblem(f"{error} (the settings and the database are made: "
                              "add the group with `carebot group add`)") from None
    finally:
        database.dispose()
    echo(f"Created {group.keyword}: {group.name} ({group.timezone}).")
    if answers.utc_for_want_of_tz:
        echo(f"No --tz was given, so {group.keyword} keeps UTC time, and texts its members by day in UTC. "
             f"Where they live elsewhere: carebot group edit {group.keyword} --tz America/Chicago (their zone).")
    echo(invited_line(answers.coordinator_name, outcome))
    return answers


def _refuse_to_lose_its_key(database, secret: str, env_path: Path) -> None:
    """A database carebot already used, under another key than the one about to be written (``--force``
    where carebot ran): the file it would replace holds the only key that reads its numbers."""
    from sqlalchemy import inspect

    from carebot.store import crypto
    from carebot.store.db import shown

    if not inspect(database.engine).has_table("key_fingerprint"):
        return  # a new database (or one older than the fingerprint, which `db upgrade` checks)
    try:
        with database.engine.connect() as conn:
            crypto.verify(conn, crypto.Keyring(secret), record=False)
    except crypto.WrongKey:
        raise InitProblem(f"the database {shown(database.url)} holds numbers under another key (the one in "
                          f"{env_path.name}, perhaps): replacing the file would lose it. Keep the file (no --force), "
                          "or give another --database-url; nothing was written") from None


def _open_the_database(url: str):
    """The database init makes (a new SQLite file private from its first byte), and that file if this run made it;
    a URL that cannot be used is refused here, in one line, with nothing made."""
    from carebot.store.db import open_database, sqlite_path

    path = sqlite_path(url) if url.startswith("sqlite") else None
    made = None
    if path is not None and not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # the numbers' file, private too
        made = path
    try:
        return made, open_database(url, create=True)
    except BaseException:
        if made is not None:
            made.unlink(missing_ok=True)
        raise


def invited_line(name: str | None, outcome: str) -> str:
    """What init says of the first coordinator: by name, or plainly that none was given (never the number)."""
    if outcome != "invited":
        return f"{name or 'The first coordinator'} was not invited ({outcome}): `carebot roster import` can try again."
    # The name is optional, as with a coordinator's ADD: the member can give it themselves by text.
    who = (f"{name} as the group's coordinator" if name else
           "the first coordinator (no name given: they can text NAME and their name once they have joined)")
    return f"Invited {who}: one text, sent when carebot runs; they join by replying YES."


def refuse_the_default_database(settings: Settings) -> None:
    """CAREBOT_DATABASE_URL not set and no database at its default: say how to make one, not only that it is missing.

    Where a settings file was read, `carebot init` would refuse (it does not replace a file that may hold
    the key of a database elsewhere, and Twilio's settings): the fix is the one line that file lacks.
    """
    from carebot.domain.config import env_file
    from carebot.domain.startup import DATABASE_MISSING
    from carebot.store.db import DatabaseProblem, sqlite_path

    url = settings.carebot_database_url
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if "carebot_database_url" in settings.model_fields_set or path is None or path.exists():
        return
    default = f"sqlite:///{path.resolve()}"
    read = env_file()
    if read is not None:
        raise DatabaseProblem(f"carebot: CAREBOT_DATABASE_URL is not set in {read.resolve()} nor in the environment, "
                              f"and there is no database at {path.resolve()}: add CAREBOT_DATABASE_URL={default} "
                              f"to {read.resolve()} (or your database's URL), then `carebot db upgrade` makes it",
                              DATABASE_MISSING)
    raise DatabaseProblem(f"carebot: CAREBOT_DATABASE_URL is not set, there is no settings file here and no "
                          f"database at {path.resolve()}: `carebot init` sets carebot up here; or set "
                          "CAREBOT_DATABASE_URL; or make an empty database here with "
                          f"`carebot db upgrade --url {default}`", DATABASE_MISSING)
