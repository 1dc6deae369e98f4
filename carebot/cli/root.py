"""The ``carebot`` group itself: its options, its logging, and one line for every refusal."""

from __future__ import annotations

import os
from pathlib import Path

import click

from carebot.domain.config import ENV_FILE, load_settings
from carebot.domain.startup import Refusal, end_by_ctrl_c


class OneLineUsage(click.UsageError):
    """A command typed wrong, said in one line with where its help is (click's own is three: the usage,
    a pointer to --help, the error); exit 2, as click's."""

    def __init__(self, said: click.UsageError) -> None:
        super().__init__(" ".join(said.format_message().split()), said.ctx)

    def show(self, file=None) -> None:
        path = self.ctx.command_path if self.ctx is not None else "carebot"
        click.echo(f"{path}: {self.message} (`{path} --help` shows how to use it)", file=file, err=file is None)


def _one_line(said: click.UsageError) -> click.UsageError:
    # NoArgsIsHelpError is no mistake: a group run alone shows its help, as it should.
    return said if isinstance(said, (OneLineUsage, click.exceptions.NoArgsIsHelpError)) else OneLineUsage(said)


class CarebotGroup(click.Group):
    """Every command's refusal (a setting, the database, the key) is one line on stderr and its exit code;
    so is a command typed wrong (exit 2), for carebot's own options and every command's. A Ctrl-C ends any
    command by the signal, without a word (serve's once uvicorn has shut carebot down and raised it again)."""

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as said:
            raise _one_line(said) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Refusal as refusal:
            click.echo(str(refusal), err=True)
            ctx.exit(refusal.exit_code)
        except click.UsageError as said:
            raise _one_line(said) from None
        except KeyboardInterrupt:
            end_by_ctrl_c()


# Commands whose output is a conversation in the terminal: carebot's INFO lines would drown it.
CONVERSATION_COMMANDS = frozenset({"demo", "chat", "transcript", "parse"})


@click.group(cls=CarebotGroup)
@click.pass_context
@click.option("-v", "--verbose", is_flag=True, help="Say which settings file was read; log more (never numbers or texts).")
@click.option("--env-file", type=click.Path(readable=False), default=None,
              help=f"The settings file (default: {ENV_FILE}, else ./.env, else /etc/carebot/carebot.env).")
def main(ctx: click.Context, verbose: bool, env_file: str | None) -> None:
    """carebot: an SMS and Signal bot for communal care in mutual-aid groups."""
    from carebot.domain.config import ConfigError, LogSettings, describe_env_file, load_log_settings, mistyped_settings
    from carebot.runtime import logs

    # `init` makes the file it is given: until then there is nothing to read there.
    if env_file and not (ctx.invoked_subcommand == "init" and not Path(env_file).exists()):
        os.environ[ENV_FILE] = env_file  # every later read of the settings, and what this command starts
    try:
        wanted = load_log_settings()
    except ConfigError as refusal:
        if ctx.invoked_subcommand not in CONVERSATION_COMMANDS:
            raise
        # These need no settings (their own throw-away database and key): a settings file they cannot read,
        # or a log setting that is wrong, is said, and they run as if it were not there.
        from carebot.store import crypto

        click.echo(f"{refusal} ({ctx.invoked_subcommand} needs no settings: it runs without them)", err=True)
        wanted = LogSettings.model_construct()
        crypto.configure(crypto.new_secret())  # their throw-away database's key, not one read from the file
    else:
        for line in mistyped_settings(frozenset(option_variables(ctx.command))):
            click.echo(line, err=True)
    level = wanted.carebot_log_level or ("WARNING" if ctx.invoked_subcommand in CONVERSATION_COMMANDS else "INFO")
    logs.configure(level, wanted.carebot_log_format, verbose=verbose)
    if verbose:
        click.echo(describe_env_file(), err=True)


def option_variables(command: click.Command) -> set[str]:
    """The environment variables carebot's options are read from (CAREBOT_ROLE, CAREBOT_NEW_SECRET_KEY): names
    carebot reads, though no setting."""
    found = {name for param in command.params for name in ([param.envvar] if isinstance(param.envvar, str)
                                                            else param.envvar or [])}
    for sub in getattr(command, "commands", {}).values():
        found |= option_variables(sub)
    return found


def configured_database():
    """The configured database, after the start-up checks (carebot.store.db.start_up): each refusal is one line,
    and where carebot is not set up yet that line names `carebot init`."""
    from carebot.store.db import start_up
    from carebot.tools.init import refuse_the_default_database

    settings = load_settings()
    refuse_a_first_run()
    refuse_the_default_database(settings)
    return start_up(settings.carebot_database_url)


def refuse_a_first_run() -> None:
    """Where carebot is not set up (no settings file, no key): one line naming `carebot init`.

    Said before start_up's own refusals, each of which names one missing part and a fix that
    needs the others (a key for a database that is not there, a database for no settings).
    """
    from carebot.domain.config import FIRST_RUN, ConfigError, env_file, nothing_set_up
    from carebot.store.crypto import ENV, MissingKey, configured_secret

    if nothing_set_up():
        raise ConfigError(f"carebot: {FIRST_RUN}")
    if env_file() is None and configured_secret() is None:
        raise MissingKey(f"carebot: {ENV} is not set and there is no settings file here: `carebot init` writes "
                         "one, with a new key, and makes the database (or set the key: see .env.example)")
