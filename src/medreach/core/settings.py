"""Settings from MEDREACH_* environment variables (and an optional .env file).

Embedded defaults: a SQLite file and a lake folder under ./var, an in-process cache.
MEDREACH_DATABASE_URL selects MariaDB/MySQL or PostgreSQL; MEDREACH_REDIS_URL turns on Redis.
"""

from __future__ import annotations

import base64
import os
import secrets
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDREACH_", env_file=".env", extra="ignore")

    env: str = "dev"
    var_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under var_dir
    redis_url: str | None = None  # set: Redis cache; unset: in-process cache
    redis_prefix: str = "medreach:"
    lake_dir: Path | None = None  # default: var_dir/lake

    # Keys. Empty: generated once and kept in var_dir/secrets (fine for one machine, set them in production).
    secret_key: str = ""  # signs access tokens
    encryption_key: str = ""  # base64 of 32 bytes: AES-256-GCM for personal data at rest

    access_token_minutes: int = 30
    refresh_token_days: int = 14
    # Login throttling (accounts/throttle.py): after the free failures each failure doubles the wait before the
    # next try, from the base delay up to the cap; counted per account and per client IP, forgotten after the window.
    login_free_failures: int = 5  # failures of one account before delays begin
    login_ip_free_failures: int = 30  # failures from one client IP (any accounts) before delays begin
    login_delay_base_seconds: int = 30
    login_delay_max_seconds: int = 900
    login_failure_window_seconds: int = 86_400
    password_min_score: int = 3  # zxcvbn's 0-4: 3 is "safely unguessable" (about 10^8 guesses)

    # Payments: the built-in sandbox gateway unless another gateway URL is given.
    payment_merchant_id: str = "medreach"
    payment_key: str = ""  # the HMAC key shared with the gateway; generated into var_dir/secrets if empty
    public_base_url: str = ""  # how the gateway and the browser reach us; default http://host:port
    payment_gateway_url: str = ""  # default: the sandbox gateway at public_base_url/sandbox-gateway

    # Member levels by trailing 12-month paid spend: "name:threshold_yuan,…", lowest first.
    member_levels: str = "普通会员:0,银卡会员:500,金卡会员:2000,钻石会员:5000"
    # Coupon codes (promotions/throttle.py): redeem tries per customer and per client IP in a fixed window; a
    # successful redemption is given back. 0 turns a limit off.
    coupon_code_window_seconds: int = 3600
    coupon_code_tries_per_customer: int = 10
    coupon_code_tries_per_ip: int = 50
    points_per_yuan: int = 100  # points redeemed for ¥1 at checkout
    points_max_ratio_percent: int = 50  # points pay at most this share of the goods
    shipping_fen: int = 1000
    free_shipping_from_fen: int = 9900

    events_fsync: bool = True  # an event is acknowledged only once fsync'd (turn off only for throwaway data)
    engine: Literal["duckdb", "spark"] = "duckdb"  # what runs the pipeline's transformations
    spark_master: str = "local[*]"  # with engine=spark: local[N] or a cluster's master URL (spark://…, yarn)
    backup_url: str = ""  # where backups go: a folder or any fsspec URL (default: var_dir/backups)
    backup_keep: int = 7  # how many backups to keep there
    pipeline_sources: Path | None = None  # a TOML file of connector sources (HTTP APIs, databases, sites)
    import_max_mb: int = 100  # the largest file an analyst may upload for import
    gc_freeze: bool = False  # `medreach serve` turns it on (a long-lived server process; not for tests)
    dedupe_window_seconds: int = 7 * 86400  # how long a messageId is remembered across processes (with Redis)
    # Collector throttling: requests per window per write key and client address (docs/api.md "Throttling");
    # shared through Redis when configured. 0 turns a limit off.
    collector_rate_window_seconds: int = 60
    collector_rate_public: int = 1200  # web/app keys: a shopper's browser sends about one batch every 2 s
    collector_rate_trusted: int = 120_000  # server/import keys: the simulator and bulk senders go flat out
    collector_rate_bad_keys: int = 120  # calls with an unknown or revoked key

    jobs_enabled: bool = True  # in-process periodic jobs (order expiry); off in tests that drive them by hand
    order_expiry_interval_seconds: int = 30
    event_relay_interval_seconds: float = 2.0  # server-side domain events reach the event log this fast
    segment_refresh_interval_seconds: float = 5.0  # dynamic segments follow a change of the profile store this fast

    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 6 * 1_048_576
    max_json_depth: int = 32  # deeper bodies are refused (400 BODY_TOO_DEEP) before any parser recurses into them
    # /metrics: with a token, only `Authorization: Bearer <token>`; without one, only clients in these networks.
    metrics_token: str = ""
    metrics_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    host: str = "127.0.0.1"
    port: int = 8000
    log_json: bool = True
    log_level: str = "INFO"
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @field_validator("member_levels")
    @classmethod
    def _levels_parse(cls, v: str) -> str:
        member_levels(v)  # a bad threshold stops the start, not the first membership page
        return v

    @property
    def db_url(self) -> str:
        if self.database_url:
            return normalize_db_url(self.database_url)
        return f"sqlite:///{(self.var_dir / 'medreach.db').resolve()}"

    @property
    def member_level_thresholds(self) -> list[tuple[str, int]]:
        return member_levels(self.member_levels)

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def gateway_url(self) -> str:
        return (self.payment_gateway_url or f"{self.base_url}/sandbox-gateway").rstrip("/")

    @cached_property
    def merchant_key(self) -> str:
        return self.payment_key or _local_secret(self.var_dir, "payment_key", lambda: secrets.token_urlsafe(32))

    @property
    def events_path(self) -> Path:
        return self.var_dir / "events"

    @property
    def search_path(self) -> Path:
        return self.var_dir / "search"

    @property
    def uploads_path(self) -> Path:
        return self.var_dir / "uploads"

    @property
    def backup_target(self) -> str:
        return self.backup_url or str(self.var_dir / "backups")

    @property
    def lake_path(self) -> Path:
        return self.lake_dir or self.var_dir / "lake"

    def ensure_dirs(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.lake_path.mkdir(parents=True, exist_ok=True)

    @cached_property
    def signing_key(self) -> str:
        return self.secret_key or _local_secret(self.var_dir, "secret_key", lambda: secrets.token_urlsafe(48))

    @cached_property
    def data_key(self) -> bytes:
        raw = self.encryption_key or _local_secret(
            self.var_dir, "encryption_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
        )
        key = base64.b64decode(raw)
        if len(key) != 32:
            raise ValueError("MEDREACH_ENCRYPTION_KEY must be base64 of exactly 32 bytes")
        return key


def yuan_to_fen(text: str) -> int:
    """An amount in yuan, as written ("499.5", "2000"), in exact fen; anything finer than a fen is refused."""
    try:
        fen = Decimal(text.strip()) * 100
    except InvalidOperation:
        raise ValueError(f"not an amount in yuan: {text!r}") from None
    if not fen.is_finite() or fen != fen.to_integral_value() or fen < 0:
        raise ValueError(f"not a whole number of fen: {text!r}")
    return int(fen)


def member_levels(spec: str) -> list[tuple[str, int]]:
    """'name:threshold_yuan,…' (lowest first) as (name, threshold in fen). At least one level; thresholds rise."""
    levels: list[tuple[str, int]] = []
    for part in filter(str.strip, spec.split(",")):
        name, sep, yuan = part.rpartition(":")
        if not sep or not name.strip():
            raise ValueError(f"a member level is 'name:threshold_yuan', not {part!r}")
        fen = yuan_to_fen(yuan)
        if levels and fen <= levels[-1][1]:
            raise ValueError(f"member levels go lowest first, each above the last: {part!r}")
        levels.append((name.strip(), fen))
    if not levels:
        raise ValueError("at least one member level is needed")
    return levels


def normalize_db_url(url: str) -> str:
    """Pick the drivers we ship: PyMySQL for MariaDB/MySQL, psycopg 3 for PostgreSQL."""
    for prefix, driver in (
        ("mysql://", "mysql+pymysql://"),
        ("mariadb://", "mysql+pymysql://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url


def _local_secret(var_dir: Path, name: str, make) -> str:
    path = var_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
