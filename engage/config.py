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
    # Set by the main command for its children: the embedded servers' data dir, which /healthz
    # checks can still be written (a full disk or read-only mount fails every write otherwise).
    embedded_data_dir: Path | None = None
    # The main command restarts a dead child after this, doubling up to 30 s (engage.supervisor).
    restart_backoff_seconds: float = Field(default=1.0, gt=0, le=30)
    # The scheduler's Redis lock lasts this long unrenewed: a killed scheduler's successor waits it out.
    scheduler_lock_seconds: int = Field(default=30, ge=3, le=3600)
    public_url: str | None = None
    cors_origins: str = ""  # comma-separated; empty means same origin only

    secret_key: str | None = Field(default=None, min_length=32)
    access_token_ttl_seconds: int = Field(default=900, ge=2, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=300)
    # A refresh token presented again this soon after its rotation gets the same new pair (two
    # tabs refreshing at once); later it is a replay and ends the session.
    refresh_grace_seconds: float = Field(default=10.0, ge=0, le=60)
    # A socket is told this long before its access token expires (at most half the token's
    # life), answers with auth:refresh, or is disconnected at expiry; checked this often.
    access_token_warning_seconds: float = Field(default=60.0, gt=0)
    socket_expiry_scan_seconds: float = Field(default=0.5, gt=0, le=60)

    # Failed logins: counted before the password is checked, per account and per client
    # address (the peer address; X-Forwarded-For only from uvicorn's FORWARDED_ALLOW_IPS).
    login_max_failures: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    # argon2 runs in this many threads at most; more logins wait for one (none on the event loop).
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    # Per-user limits of socket events, "event=hits/seconds" comma-separated, over the
    # defaults in engage.actions.rate_limits.SOCKET_EVENT_LIMITS.
    socket_event_limits: str = Field(default="", pattern=r"^\s*([\w:.-]+=\d+/\d+(\.\d+)?\s*(,\s*|$))*$")
    # An appointment relates its doctor and patient from booking until this long after it.
    care_relation_days: int = Field(default=365, ge=1, le=3650)
    emergency_access_hours: int = Field(default=24, ge=1, le=72)
    care_expiry_scan_seconds: int = Field(default=60, ge=5, le=3600)  # how soon an expired access stops
    # Pharmacy (issue 21): a placed order not collected within this many days is released by a scan.
    order_hold_days: int = Field(default=7, ge=1, le=90)
    pharmacy_expiry_scan_seconds: int = Field(default=300, ge=5, le=86400)

    admin_email: str | None = None
    admin_password: str | None = None

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    ping_interval: float = Field(default=25.0, gt=0)
    ping_timeout: float = Field(default=20.0, gt=0)
    # Packets one polling POST may carry. python-engineio refuses more than 16 by default, but a
    # browser flushes everything it buffered while offline in one POST; the body-size limit
    # above already bounds the work.
    polling_max_packets: int = Field(default=1000, ge=16, le=100_000)
    # Allocations between young-generation garbage collections in a web process (Python's
    # default is 700; 0 keeps it). See engage.lib.runtime.tune_garbage_collector.
    gc_young_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    log_level: str = "info"
    # Log lines: "json" (one object per line, for log collectors) or "text" (for reading at a terminal).
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # When set, GET /metrics wants it as "Authorization: Bearer <token>"; unset, /metrics is open
    # (deploy/nginx.conf does not pass it on: Prometheus scrapes each web process directly).
    metrics_token: str | None = Field(default=None, min_length=16)

    # Chat: typing expiry, missed-message alert delay, per-user send rate limit.
    typing_ttl: float = Field(default=6.0, gt=0, le=300)
    unread_alert_seconds: float = Field(default=300.0, gt=0)
    chat_rate_limit: int = Field(default=20, ge=1)
    chat_rate_window: float = Field(default=10.0, gt=0)
    # Past this wait for storage a process is overloaded: sends get a quick server_busy (the
    # client retries with the same client_id) instead of joining a queue that only grows.
    chat_max_queue_seconds: float = Field(default=2.0, gt=0, le=120)

    # Workers: "worker" forks per job (a crashing job cannot take the worker down);
    # "simple" runs jobs in-process (faster; used by benchmarks).
    worker_class: str = Field(default="worker", pattern="^(worker|simple)$")

    # Booking (issue 5).
    booking_min_notice_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30)
    booking_cancel_cutoff_minutes: int = Field(default=120, ge=0, le=60 * 24 * 30)  # patients only
    booking_reminder_offsets_minutes: str = Field(default="1440,120", pattern=r"^\s*\d+(\s*,\s*\d+)*\s*$")
    offer_hold_minutes: float = Field(default=15, gt=0, le=24 * 60)

    # Notifications: providers ("outbox" stores and logs what would be sent; no account needed).
    email_provider: str = Field(default="outbox", pattern="^(outbox|sendgrid|smtp)$")
    sms_provider: str = Field(default="outbox", pattern="^(outbox|twilio)$")
    email_from: str = "Engage <no-reply@engage.local>"
    sms_from: str | None = None  # the Twilio number (E.164) or messaging service sid (MG...)
    sendgrid_api_key: str | None = None
    sendgrid_api_url: str = "https://api.sendgrid.com"  # override to point the SDK at a local server
    sendgrid_webhook_public_key: str | None = None  # base64 key of the signed event webhook
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_url: str = "https://api.twilio.com"  # override to point the SDK at a local server
    clinic_contact: str = "Please call your clinic for help."
    provider_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claim older than this whose worker cannot be checked (other host) is taken as dead.
    notification_lease_seconds: float = Field(default=60.0, gt=0)
    notification_retry_base_seconds: float = Field(default=30.0, gt=0)
    notification_max_attempts: int = Field(default=6, ge=1)
    notification_scan_seconds: float = Field(default=10.0, gt=0)
    notification_batch_size: int = Field(default=100, ge=1, le=1000)
    notification_concurrency: int = Field(default=32, ge=1, le=128)  # provider calls in flight per send job

    # Vitals, alerts, advice and medication reminders.
    vitals_snooze_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    vitals_alert_window_hours: int = Field(default=24, ge=1)  # older (backfilled) readings raise no alert
    vitals_no_data_scan_seconds: int = Field(default=300, ge=10)
    medication_scan_seconds: int = Field(default=300, ge=10)
    medication_missed_after_minutes: int = Field(default=120, ge=1)
    medication_missed_alert: int = Field(default=3, ge=1, le=50)  # missed doses in a row that alert the doctor
    medication_horizon_hours: int = Field(default=48, ge=1, le=24 * 14)
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Health records (issue 20): the largest document upload, and how long its processing job may run.
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    document_job_timeout_seconds: int = Field(default=600, ge=30)
    # Re-phrase record searches with the LLM above (when configured); only the query is sent.
    record_search_llm: bool = True
    # The assistant (issue 18): the number an emergency answer tells the patient to call (a
    # clinic may set its own in its FAQ settings), and per-user limits of classify and replies.
    emergency_number: str = Field(default="112", pattern=r"^\+?[0-9][0-9 ]{1,19}$")
    assistant_classify_limit: int = Field(default=60, ge=1)
    assistant_classify_window: float = Field(default=60.0, gt=0)
    # Rephrase the assistant's answers with the LLM above (when configured); triage never uses it.
    assistant_llm: bool = True
    # Accounts (issue 19). Nothing but verification and reset is emailed to an unverified
    # address, and SMS goes only to verified numbers (tests of other capabilities turn these off).
    require_verified_email: bool = True
    require_verified_phone: bool = True
    email_verification_ttl_seconds: int = Field(default=86400, ge=60)
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    # Sign-up, forgot-password, OTP and phone codes cost email and SMS: limits per client address
    # (the peer address) and per destination, per hour or per day.
    register_limit_per_address_hour: int = Field(default=20, ge=1)
    password_forgot_limit_per_email_hour: int = Field(default=5, ge=1)
    password_forgot_limit_per_address_hour: int = Field(default=30, ge=1)
    # One-time codes: sign in with a code, phone verification (6 digits, hashed, single use).
    otp_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    otp_resend_seconds: int = Field(default=30, ge=1, le=3600)
    otp_daily_limit_per_destination: int = Field(default=10, ge=1)
    otp_daily_limit_per_address: int = Field(default=50, ge=1)
    # Two-factor: these roles must enrol TOTP at their next sign-in (comma-separated, e.g. "admin,doctor").
    require_mfa_roles: str = Field(default="", pattern=r"^\s*([a-z_]+\s*(,\s*|$))*$")
    mfa_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    # Deleting one's account deactivates it at once; personal data is erased after this many days.
    deletion_grace_days: int = Field(default=30, ge=0, le=365)
    account_erasure_scan_seconds: int = Field(default=3600, ge=5, le=86400)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        # compose passes ENGAGE_METRICS_TOKEN through even when it is not set: empty means open.
        return None if isinstance(value, str) and not value.strip() else value

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
    def reminder_offsets(self) -> list[int]:
        """Minutes before an appointment at which reminders go out, largest first."""
        return sorted({int(part) for part in self.booking_reminder_offsets_minutes.split(",") if int(part) > 0}, reverse=True)

    @property
    def mfa_required_roles(self) -> set[str]:
        return {part.strip() for part in self.require_mfa_roles.split(",") if part.strip()}

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_api_key and self.llm_model)

    @property
    def embedded(self) -> bool:
        return not (self.mongodb_url and self.redis_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
