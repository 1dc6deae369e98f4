"""Configuration from the environment and a settings file, found where an operator puts it.

The file is the first of: ``--env-file`` (or ``CAREBOT_ENV_FILE``), ``./.env``,
``/etc/carebot/carebot.env``; the environment wins over the file. A setting
that is missing or malformed is one line (ConfigError), never a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from carebot.domain import startup

TWILIO_API = "https://api.twilio.com"
ENV_FILE = "CAREBOT_ENV_FILE"
DEFAULT_RETENTION_DAYS = 90  # how long logs are kept when CAREBOT_RETENTION_DAYS is not set
SYSTEM_ENV_FILE = "/etc/carebot/carebot.env"
# Where the system-wide file is looked for: tests (and packagers) point it elsewhere.
SYSTEM_ENV_FILE_VAR = "CAREBOT_SYSTEM_ENV_FILE"
# The error type of a problem between two settings: its message names both, so no one field leads the line.
PAIRED = "paired_settings"
# The error type of a setting that is there but blank: said as "NAME: is empty".
EMPTY = "is empty"


class ConfigError(startup.Refusal):
    """A setting is missing or malformed; the message is one line for the person deploying."""

    exit_code = startup.SETTINGS


def env_file() -> Path | None:
    """The settings file this command reads, or None when there is none (the environment alone).

    A file named on purpose (``--env-file``, ``CAREBOT_ENV_FILE``) must be there;
    the usual places are only looked at.
    """
    named = os.environ.get(ENV_FILE, "").strip()
    if named:
        path = Path(named)
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ConfigError(f"carebot: the settings file {named} (--env-file or {ENV_FILE}) "
                              "is not there or not readable")
        return path
    for path in (Path(".env"), Path(os.environ.get(SYSTEM_ENV_FILE_VAR) or SYSTEM_ENV_FILE)):
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise ConfigError(f"carebot: the settings file {path.resolve()} is not readable by this user")
            return path
    return None


# What a first run is told, wherever it starts (`check`, `status`, a group command, ...).
FIRST_RUN = ("no settings here (no ./.env, no settings file named, none in the environment): "
             "`carebot init` writes one, with a new key, and makes the database")


def nothing_set_up() -> bool:
    """No settings file anywhere carebot looks and no carebot setting in the environment: a first run."""
    return env_file() is None and not any(name.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_")) for name in os.environ
                                          if name != SYSTEM_ENV_FILE_VAR)


def describe_env_file() -> str:
    """One line saying where the settings came from (``-v``)."""
    path = env_file()
    if path is None:
        system = os.environ.get(SYSTEM_ENV_FILE_VAR) or SYSTEM_ENV_FILE
        return f"carebot: settings from the environment only (no {ENV_FILE}, ./.env or {system})"
    return f"carebot: settings from {path.resolve()} and the environment"


class LogSettings(BaseSettings):
    """How carebot logs (read before anything else, so that every command logs the same way)."""

    model_config = SettingsConfigDict(extra="ignore")

    # carebot's own loggers; libraries log at WARNING and up whatever this says. Unset: INFO for
    # the commands that run carebot, WARNING for the ones that show a conversation in the terminal.
    carebot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    carebot_log_format: Literal["text", "json"] = "text"

    @field_validator("carebot_log_level", "carebot_log_format", mode="before")
    @classmethod
    def _case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        return value.upper() if value.lower() in ("debug", "info", "warning", "error") else value.lower()


class Settings(BaseSettings):
    """Settings shared by every carebot command; each is documented in .env.example."""

    model_config = SettingsConfigDict(extra="ignore")

    carebot_database_url: str = "sqlite:///carebot.sqlite"
    carebot_default_timezone: str = "UTC"
    # Encrypts phone numbers at rest (carebot.store.crypto); `carebot key new` makes one.
    carebot_secret_key: SecretStr | None = None
    # Logs (handled texts, sent texts, flags, coordinators' log) older than this are deleted.
    carebot_retention_days: int = DEFAULT_RETENTION_DAYS

    @field_validator("carebot_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 day")
        return value

    @field_validator("carebot_default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a timezone: use a name such as America/Chicago or UTC") from None
        return value

    @field_validator("carebot_database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty: sqlite:///carebot.sqlite, or postgresql+psycopg://user:password@host/carebot")
        return value.strip()


def _number(value: str | None, pattern: str, problem: str) -> str | None:
    """A number setting: None when blank, else stripped and matching ``pattern`` (else ``problem``)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not re.fullmatch(pattern, value):
        raise ValueError(problem)
    return value


def _http_url(value: str, example: str = "https://care.example.org") -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}, not {value!r}")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return value.strip().rstrip("/")


LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


def _on_this_machine(host: str) -> bool:
    """Whether ``host`` is this machine itself: a loopback address, or localhost's own names."""
    host = host.lower().rstrip(".")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in LOOPBACK_NAMES or host.endswith(".localhost")


def _https_unless_here(value: str, why: str, example: str = "https://care.example.org") -> str:
    """An http(s) URL that is https, or plain http to this machine only (the tests' fakes, the demo)."""
    url = _http_url(value, example)
    parts = urlsplit(url)
    if parts.scheme != "https" and not _on_this_machine(parts.hostname or ""):
        raise ValueError(f"must be https ({why}), https://{parts.netloc}, not {url!r}; "
                         "plain http only for 127.0.0.1 or localhost")
    return url


def twilio_api_url(value: str) -> str:
    """TWILIO_API_BASE_URL: Twilio's own, or a compatible provider's (a fake on loopback in the tests)."""
    return _https_unless_here(value, "every call carries TWILIO_AUTH_TOKEN", TWILIO_API)


def _twilio_id(value: str, prefix: str, info: ValidationInfo) -> str:
    """An account's or a service's id: not blank, and in Twilio's own format when the API is Twilio's
    (compatible providers have their own; an API URL that failed its check leaves the format unsaid)."""
    value = value.strip()
    if not value:
        raise PydanticCustomError(EMPTY, EMPTY)
    if info.data.get("twilio_api_base_url") == TWILIO_API and not re.fullmatch(rf"{prefix}[0-9a-fA-F]{{32}}", value):
        raise ValueError(f"must be {prefix} followed by 32 hex digits")
    return value


def public_base_url(value: str) -> str:
    """CAREBOT_PUBLIC_URL (and ``init --public-url``): https, and the base address only.

    Twilio posts members' texts and numbers to it, so plain http is for this machine alone
    (the tests and the demo). carebot adds its own paths (/twilio/sms, ...) and serves no
    path prefix, so a path here would send every webhook to a page carebot does not have.
    """
    url = _https_unless_here(value, "Twilio sends members' texts there")
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if parts.path:
        raise ValueError(f"must be the base address without a path, {base}, not {url!r} "
                         "(carebot adds /twilio/sms and its other paths itself)")
    return url


# Names a private network gives its hosts, taken as they are (no lookup: `check` and `serve`
# read no DNS to decide): compose's service names have no dot; these suffixes are for private use.
PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".localhost")


def private_host(host: str) -> str | None:
    """Why ``host`` is not on loopback or a private network, or None when it is (or cannot be told
    without the network and is a private-use name).

    signal-cli-rest-api has no login: whoever reaches it reads and sends as the group's account.
    """
    bare = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        if "." not in bare or bare.endswith(PRIVATE_SUFFIXES):
            return None
        return (f"{bare} is a name carebot cannot tell is private without looking it up: use the service's "
                "loopback or private address (such as 127.0.0.1:8080 or 10.0.0.5:8080), or its name on "
                "compose's network (signal:8080)")
    if address.is_global or address.is_multicast:
        return (f"{bare} is a public address: signal-cli-rest-api has no login, so keep it on loopback "
                "(127.0.0.1:8080) or a private network (10.x, 172.16-31.x, 192.168.x)")
    return None


class ServeSettings(Settings):
    """What ``carebot serve`` needs on top: the public URL and the Twilio account."""

    carebot_public_url: str
    # Before the account's ids, which are checked against it: Twilio's own formats, or a compatible provider's.
    twilio_api_base_url: str = TWILIO_API
    twilio_account_sid: str
    twilio_auth_token: SecretStr  # never shown in a repr or a log
    twilio_from: str | None = None
    # Checked even when unset: one of it and TWILIO_FROM is needed (_one_sender).
    twilio_messaging_service_sid: str | None = Field(default=None, validate_default=True)
    twilio_send_rate: float = 1.0  # texts a second per sender number
    # Signal through signal-cli-rest-api in json-rpc mode: both, or neither for SMS only.
    signal_service: str | None = None  # host:port, e.g. 127.0.0.1:8080
    signal_number: str | None = Field(default=None, validate_default=True)  # the bot's Signal account, E.164
    # Optional round-trip check: a second account on the same service texts the bot every
    # SIGNAL_PROBE_MINUTES; the round trip shows in /metrics and /healthz (deploy/signal.md).
    signal_probe_number: str | None = None
    signal_probe_minutes: float = 15.0

    @field_validator("carebot_public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return public_base_url(value)

    @field_validator("twilio_api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return twilio_api_url(value)

    # Each of Twilio's settings is checked on its own field, so that the line names every one that is
    # wrong: a model validator runs only once all the fields pass, and would hide the rest behind one.

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid(cls, value: str, info: ValidationInfo) -> str:
        return _twilio_id(value, "AC", info)

    @field_validator("twilio_auth_token")
    @classmethod
    def _auth_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise PydanticCustomError(EMPTY, EMPTY)
        return value

    @field_validator("twilio_from")
    @classmethod
    def _from(cls, value: str | None) -> str | None:
        # E.164, or a short code: what Twilio accepts as From for SMS.
        return _number(value, r"\+[1-9]\d{6,14}|\d{5,6}",
                       "must be a number in E.164 form such as +15155550100, or a short code")

    @field_validator("signal_service")
    @classmethod
    def _signal_service(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        # signalbot adds the scheme itself, so a URL here would become http://http://…
        match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})", value)
        if not match or not 0 < int(match.group(2)) < 65536:
            raise ValueError(f"must be host:port such as 127.0.0.1:8080 (no http://), not {value!r}")
        problem = private_host(match.group(1))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("signal_probe_number")
    @classmethod
    def _signal_number(cls, value: str | None) -> str | None:
        return _number(value, r"\+[1-9]\d{6,14}", "must be the bot's Signal number in E.164 form such as +15155550100")

    # Settings that go in pairs are checked on the second field, not in a model validator, so that the
    # line names them along with every other problem: a model validator runs only once the fields pass.
    # A first field missing from info.data failed its own check, which is said already.

    @field_validator("twilio_messaging_service_sid")
    @classmethod
    def _one_sender(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value else None
        if "twilio_from" in info.data and not (value or info.data["twilio_from"]):
            raise PydanticCustomError(PAIRED, "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        return _twilio_id(value, "MG", info) if value else None

    @field_validator("signal_number")
    @classmethod
    def _signal_pair(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A SIGNAL_SERVICE that failed its own check was set (a blank one is None), so the number is due too;
        # the number's own problem and the pair's are said together, neither hiding the other.
        unpaired = bool(info.data.get("signal_service", "set")) != bool(value and value.strip())
        pair = "set both SIGNAL_SERVICE and SIGNAL_NUMBER, or neither (SMS only)"
        try:
            number = cls._signal_number(value)
        except ValueError as problem:
            if unpaired:
                raise PydanticCustomError(PAIRED, f"SIGNAL_NUMBER: {problem}; {pair}") from None
            raise
        if unpaired:
            raise PydanticCustomError(PAIRED, pair)
        return number

    @field_validator("signal_probe_number")
    @classmethod
    def _probe_pair(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and "signal_number" in info.data and value == (info.data["signal_number"] or value):
            raise PydanticCustomError(PAIRED, "SIGNAL_PROBE_NUMBER must be a second account, not SIGNAL_NUMBER, "
                                              "with SIGNAL_NUMBER set")
        return value

    @field_validator("signal_probe_minutes")
    @classmethod
    def _probe_minutes(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @field_validator("twilio_send_rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("must be above 0 and at most 1000 texts a second")
        return value


S = TypeVar("S", bound=BaseSettings)


def refuse_a_line_that_is_not_a_setting(path: Path) -> None:
    """ConfigError naming the file and the first line python-dotenv cannot read (an ``=`` left out, a quote
    never closed): it would skip that line with a warning of its own, and a setting missing for it be refused."""
    from dotenv.parser import parse_stream

    try:
        with path.open(encoding="utf-8") as stream:
            bad = next((binding.original.line for binding in parse_stream(stream) if binding.error), None)
    except UnicodeDecodeError:
        return  # said by _load, with the line
    if bad is not None:
        raise ConfigError(f"carebot: the settings file {path}, line {bad}, is not a setting: each line is "
                          "NAME=value, such as CAREBOT_DATABASE_URL=sqlite:///carebot.sqlite (quotes, if any, "
                          "around the whole value), or a # comment")


def _names_in(path: Path) -> list[str]:
    """The names the settings file sets, as written (a line that is no setting, or a file that is not UTF-8,
    is said elsewhere, with its line)."""
    from dotenv.parser import parse_stream

    try:
        with path.open(encoding="utf-8") as stream:
            return [binding.key for binding in parse_stream(stream) if binding.key and not binding.error]
    except UnicodeDecodeError:
        return []


def _settings() -> dict[str, bool]:
    """Every setting's name, and whether it is required (a name missing is then refused, with its typo named)."""
    return {name.upper(): field.is_required()
            for kind in (LogSettings, ServeSettings) for name, field in kind.model_fields.items()}


def _nearest(name: str, names) -> str | None:
    """The one of ``names`` a letter or two from ``name``, if any."""
    from rapidfuzz import fuzz, process

    found = process.extractOne(name.upper(), names, scorer=fuzz.ratio, score_cutoff=85)
    return found[0] if found else None


def _meant_in(path: Path | None, missing: str) -> str:
    """Where the settings file (or the environment) names ``missing`` mistyped (``TWILIO_AUTH_TOKNE``): said
    after "missing", since a name that is no setting is otherwise ignored without a word. Only names a letter
    or two from it; never a value (it may be a secret)."""
    settings = _settings()
    found = [(name, f"in {path}") for name in (_names_in(path) if path is not None else [])]
    found += [(name, "set in the environment") for name in os.environ]
    near = [f"{name} {where}" for name, where in found if name.upper() not in settings and _nearest(name, [missing])]
    return f" ({near[0]} is no setting: {missing}, perhaps?)" if near else ""


PREFIXES = ("CAREBOT_", "TWILIO_", "SIGNAL_")
# Names carebot reads that are no field of the settings: where the file is, and the twilio library's own two.
OTHER_NAMES = frozenset({ENV_FILE, SYSTEM_ENV_FILE_VAR, "TWILIO_REGION", "TWILIO_EDGE"})
# The environment is shared with other programs: the test suite's and the benchmarks' own variables are theirs.
OTHERS_PREFIXES = ("CAREBOT_TEST_", "CAREBOT_BENCH_")


def mistyped_settings(also: frozenset[str] = frozenset()) -> list[str]:
    """One line for each name, in the settings file or the environment, that looks like one of carebot's optional
    settings but is none (``CAREBOT_LOG_LEVLE``): ignored, it would leave the setting at its default without a word.

    ``also`` are names read elsewhere (a command's option's variable, such as CAREBOT_ROLE). In the file, every
    name with carebot's or a provider's prefix is said; in the environment, which other programs share (the
    Twilio CLI's TWILIO_API_KEY), a TWILIO_ or SIGNAL_ name only when it is a letter or two from a setting. A
    required setting's typo is said when the setting is refused as missing (_meant_in). Never a value.
    """
    settings = _settings()
    known = set(settings) | OTHER_NAMES | also
    required = [name for name, needed in settings.items() if needed]
    optional = [name for name, needed in settings.items() if not needed]
    path = env_file()
    found = [(name, f"in {path}", True) for name in (_names_in(path) if path is not None else [])]
    found += [(name, "set in the environment", False) for name in os.environ]
    lines, said = [], set()
    for name, where, in_file in found:
        upper = name.upper()
        if upper in known or upper in said or not upper.startswith(PREFIXES) or upper.startswith(OTHERS_PREFIXES):
            continue
        meant = _nearest(upper, optional)
        if meant is None and (_nearest(upper, required) or not (in_file or upper.startswith("CAREBOT_"))):
            continue
        said.add(upper)
        lines.append(f"carebot: {name} {where} is no setting, and is ignored"
                     + (f": {meant}, perhaps?" if meant else " (.env.example lists them)"))
    return lines


def _load(kind: type[S], who: str, **overrides) -> S:
    """``kind`` from the environment and the settings file, or ConfigError naming every problem in one line."""
    path = env_file()
    if path is not None:
        refuse_a_line_that_is_not_a_setting(path)
    try:
        return kind(_env_file=path, **overrides)
    except UnicodeDecodeError:  # only the file is decoded: the environment is text already
        raw = path.read_bytes() if path is not None else b""
        try:  # the error's own position counts from the chunk the reader had: the line is found again here
            raw.decode("utf-8")
            line = 1
        except UnicodeDecodeError as whole:
            line = raw[:whole.start].count(b"\n") + 1
        raise ConfigError(f"carebot: the settings file {path} is not UTF-8 text (line {line}): save it as UTF-8 "
                          "(an accent typed in another encoding, perhaps)") from None
    except ValidationError as error:
        problems, names = [], []
        for item in error.errors():
            name = "_".join(str(part) for part in item["loc"]).upper()
            names.append(name)
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "missing" + _meant_in(path, name)
            elif item["type"] == "literal_error":
                message = f"must be {item['ctx']['expected']}"
            problems.append(f"{name}: {message}" if name and item["type"] != PAIRED else message)
        # Where the wrong values came from: a variable set in the environment wins over the file.
        from_environment = [name for name in names if name and os.environ.get(name) is not None]
        if from_environment and len(from_environment) == len(names):
            where = "set in the environment; "
        elif from_environment:
            where = f"{path or 'the settings'}, and {', '.join(from_environment)} set in the environment; "
        else:
            where = f"{path}; " if path is not None else ""
        raise ConfigError(f"{who}: " + "; ".join(problems) + f" ({where}see .env.example)") from None


def load_settings() -> Settings:
    """The settings every command shares, or ConfigError in one line."""
    return _load(Settings, "carebot")


def load_log_settings() -> LogSettings:
    return _load(LogSettings, "carebot")


def load_serve_settings(command: str = "carebot serve", **overrides) -> ServeSettings:
    """The settings ``carebot serve`` needs, or ConfigError naming what is wrong, in one line that
    starts with the command that needs them (``carebot twilio connect`` needs the same)."""
    return _load(ServeSettings, command, **overrides)
