"""Configuration from the environment (and an optional .env file)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings shared by every carebot command; each is documented in .env.example."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    carebot_database_url: str = "sqlite:///carebot.sqlite"
    carebot_default_timezone: str = "UTC"


def load_settings() -> Settings:
    """Read the settings once, at start-up."""
    return Settings()
