"""Settings from the environment, in one place.

Every setting is validated at start; a bad value stops the process with a message
naming the variable instead of failing later in a request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices
from pydantic import Field
from pydantic import field_validator
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGE_", extra="ignore")

    # Services. Unset means "start the embedded servers" (main command only).
    mongodb_url: str | None = Field(default=None, validation_alias=AliasChoices("MONGODB_URL", "ENGAGE_MONGODB_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "ENGAGE_REDIS_URL"))
    db_name: str = "engage"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535, validation_alias=AliasChoices("PORT", "ENGAGE_PORT"))
    data_dir: Path = Path("./var")
    public_url: str | None = None
    cors_origins: str = ""  # comma-separated; empty means same origin only

    secret_key: str | None = Field(default=None, min_length=32)
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=300)

    login_max_failures: int = Field(default=10, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)

    admin_email: str | None = None
    admin_password: str | None = None

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    ping_interval: float = Field(default=25.0, gt=0)
    ping_timeout: float = Field(default=20.0, gt=0)
    log_level: str = "info"

    # Workers: "worker" forks per job (a crashing job cannot take the worker down);
    # "simple" runs jobs in-process (faster; used by benchmarks).
    worker_class: str = Field(default="worker", pattern="^(worker|simple)$")

    @field_validator("secret_key")
    @classmethod
    def _secret_not_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in {"changeme", "secret", "change-me"}:
            raise ValueError("ENGAGE_SECRET_KEY must be a random secret")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def embedded(self) -> bool:
        return not (self.mongodb_url and self.redis_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
