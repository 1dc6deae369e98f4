"""Configuration from the environment and a settings file, found where an operator puts it.

The file is the first of: ``--env-file`` (or ``CAREBOT_ENV_FILE``), ``./.env``,
``/etc/carebot/carebot.env``; the environment wins over the file. A setting
that is missing or malformed is one line (ConfigError), never a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carebot.domain import startup

TWILIO_API = "https://api.twilio.com"
ENV_FILE = "CAREBOT_ENV_FILE"
DEFAULT_RETENTION_DAYS = 90  # how long logs are kept when CAREBOT_RETENTION_DAYS is not set
SYSTEM_ENV_FILE = "/etc/carebot/carebot.env"
# Where the system-wide file is looked for: tests (and packagers) point it elsewhere.
SYSTEM_ENV_FILE_VAR = "CAREBOT_SYSTEM_ENV_FILE"


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


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as https://care.example.org, not {value!r}")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return value.strip().rstrip("/")


class ServeSettings(Settings):
    """What ``carebot serve`` needs on top: the public URL and the Twilio account."""

    carebot_public_url: str
    twilio_account_sid: str
    twilio_auth_token: SecretStr  # never shown in a repr or a log
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = TWILIO_API
    twilio_send_rate: float = 1.0  # texts a second per sender number
    # Signal through signal-cli-rest-api in json-rpc mode: both, or neither for SMS only.
    signal_service: str | None = None  # host:port, e.g. 127.0.0.1:8080
    signal_number: str | None = None  # the bot's Signal account, E.164
    # Optional round-trip check: a second account on the same service texts the bot every
    # SIGNAL_PROBE_MINUTES; the round trip shows in /metrics and /healthz (deploy/signal.md).
    signal_probe_number: str | None = None
    signal_probe_minutes: float = 15.0

    @field_validator("carebot_public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("twilio_api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value)

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
        return value

    @field_validator("signal_number", "signal_probe_number")
    @classmethod
    def _signal_number(cls, value: str | None) -> str | None:
        return _number(value, r"\+[1-9]\d{6,14}", "must be the bot's Signal number in E.164 form such as +15155550100")

    @field_validator("twilio_send_rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("must be above 0 and at most 1000 texts a second")
        return value

    @model_validator(mode="after")
    def _account(self) -> ServeSettings:
        if not (self.twilio_from or self.twilio_messaging_service_sid):
            raise ValueError("set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        if bool(self.signal_service) != bool(self.signal_number):
            raise ValueError("set both SIGNAL_SERVICE and SIGNAL_NUMBER, or neither (SMS only)")
        if self.signal_probe_number and self.signal_probe_number == (self.signal_number or self.signal_probe_number):
            raise ValueError("SIGNAL_PROBE_NUMBER must be a second account, not SIGNAL_NUMBER, with SIGNAL_NUMBER set")
        if self.signal_probe_minutes <= 0:
            raise ValueError("SIGNAL_PROBE_MINUTES must be more than 0")
        if not self.twilio_auth_token.get_secret_value().strip():
            raise ValueError("TWILIO_AUTH_TOKEN is empty")
        # Twilio-compatible providers use their own id formats; Twilio's own are checked.
        if self.twilio_api_base_url == TWILIO_API:
            if not re.fullmatch(r"AC[0-9a-fA-F]{32}", self.twilio_account_sid):
                raise ValueError("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
            service = self.twilio_messaging_service_sid
            if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
                raise ValueError("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hex digits")
        return self


S = TypeVar("S", bound=BaseSettings)


def _load(kind: type[S], who: str, **overrides) -> S:
    """``kind`` from the environment and the settings file, or ConfigError naming every problem in one line."""
    path = env_file()
    try:
        return kind(_env_file=path, **overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = "_".join(str(part) for part in item["loc"]).upper()
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "missing"
            elif item["type"] == "literal_error":
                message = f"must be {item['ctx']['expected']}"
            problems.append(f"{name}: {message}" if name else message)
        where = f"{path}; " if path is not None else ""
        raise ConfigError(f"{who}: " + "; ".join(problems) + f" ({where}see .env.example)") from None


def load_settings() -> Settings:
    """The settings every command shares, or ConfigError in one line."""
    return _load(Settings, "carebot")


def load_log_settings() -> LogSettings:
    return _load(LogSettings, "carebot")


def load_serve_settings(**overrides) -> ServeSettings:
    """The settings ``carebot serve`` needs, or ConfigError naming what is wrong, in one line."""
    return _load(ServeSettings, "carebot serve", **overrides)
