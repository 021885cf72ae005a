"""Typed settings, read from ``IHOSPITAL_*`` environment variables.

Settings are built by :func:`get_settings` at start-up (never at import), so tests build their own.
Secrets that are not given are generated once and kept in ``<data_dir>/secrets.json`` so the
embedded demo needs nothing configured; production sets them explicitly.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ihospital"


class IceServer(BaseModel):
    """A STUN or TURN server for video calls, as the browser's RTCIceServer."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    """Every setting of ihospital. The README lists them with their meaning."""

    model_config = SettingsConfigDict(env_prefix="IHOSPITAL_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = ""
    secret_key: str = ""
    field_key: str = ""
    blind_index_key: str = ""
    payment_sandbox_key: str = ""
    # pharmacy delivery: the carrier of ordinary parcels and the one of cold-chain parcels
    pharmacy_carrier: str = "sandbox"
    pharmacy_cold_chain_carrier: str = "sandbox-cold"
    carrier_sandbox_key: str = ""
    # how the sandbox carriers' tracking goes: prompt, twice, late, out_of_order, failed, never
    carrier_sandbox_script: Literal[
        "prompt", "twice", "late", "out_of_order", "failed", "never"
    ] = "prompt"
    # a cold-chain reading at this temperature (°C) half-way, for demos of an excursion
    carrier_sandbox_excursion_celsius: Decimal | None = None
    sandbox_database_url: str = ""
    # the provincial supervision platform (监管平台) that receives the reporting feed: the sandbox
    # receiver in this process, or the platform's HTTP interface at the URL; requests name the
    # app id and are signed with the app secret
    provincial_platform: Literal["sandbox", "http"] = "sandbox"
    provincial_platform_url: str = ""
    provincial_app_id: str = "ihospital"
    provincial_app_secret: str = ""
    provincial_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # records per request to the platform, and how often the feed is pushed at the least
    reporting_batch: int = Field(default=50, ge=1, le=500)
    reporting_tick_minutes: int = Field(default=5, ge=1, le=60)
    environment: Literal["development", "production", "test"] = "development"
    cookie_secure: bool = True
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 1_048_576
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    sms_code_minutes: int = 5
    sms_code_max_attempts: int = 5
    session_hours: int = 12
    api_token_hours: int = 24
    sms_sender: Literal["log", "sandbox"] = "log"
    realname_provider: Literal["sandbox"] = "sandbox"
    worker_batch: int = 20
    worker_poll_seconds: float = 1.0
    worker_max_attempts: int = 8
    worker_modules: list[str] = Field(default_factory=list)
    ws_heartbeat_seconds: float = 25.0
    ws_max_frame_bytes: int = 65_536
    ice_servers: list[IceServer] = Field(default_factory=list)
    # the doctor's quick replies in the consultation chat (a JSON list); empty: the built-in ones,
    # in the reader's language
    consultation_quick_replies: list[str] = Field(default_factory=list)
    booking_rate_window_seconds: int = 10
    booking_rate_per_account: int = 10
    booking_rate_per_ip: int = 60
    files_max_bytes: int = 10 * 1024 * 1024
    files_rate_window_seconds: int = 600
    files_rate_per_account: int = 30
    drugs_import_max_bytes: int = 10 * 1024 * 1024
    object_store_url: str = ""
    object_store_bucket: str = ""
    object_store_access_key: str = ""
    object_store_secret_key: str = ""
    object_store_region: str = "us-east-1"
    # pharmacist review (审方): a prescription waiting longer raises an alert; how often to look
    prescription_review_limit_minutes: int = Field(default=30, ge=1)
    prescription_review_sweep_minutes: int = Field(default=5, ge=1, le=60)
    # public prescription checks (by number and verification code) per client IP and window
    prescription_verification_rate_per_ip: int = Field(default=30, ge=1)
    prescription_verification_rate_window_seconds: int = Field(default=60, ge=1)
    # public smart triage per client IP and window: descriptions, and suggestions while typing
    triage_rate_per_ip: int = Field(default=30, ge=1)
    triage_suggestion_rate_per_ip: int = Field(default=300, ge=1)
    triage_rate_window_seconds: int = Field(default=60, ge=1)

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'ihospital.db'}"

    def with_generated_secrets(self) -> Settings:
        """Fill missing keys from ``<data_dir>/secrets.json``, creating it on first use."""
        names = (
            "secret_key",
            "field_key",
            "blind_index_key",
            "payment_sandbox_key",
            "carrier_sandbox_key",
            "provincial_app_secret",
        )
        if all(getattr(self, name) for name in names):
            return self
        path = self.data_dir / "secrets.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        changed = False
        for name in names:
            if not stored.get(name):
                stored[name] = base64.b64encode(secrets.token_bytes(32)).decode()
                changed = True
        if changed:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stored, indent=2))
            path.chmod(0o600)
        updates = {n: getattr(self, n) or stored[n] for n in stored}
        return self.model_copy(update=updates)


@lru_cache
def get_settings() -> Settings:
    return Settings().with_generated_secrets()
