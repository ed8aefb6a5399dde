"""The hub's settings: ``LIENTHONG_`` environment variables, defaulting to the local services.

This is the only place the hub reads the environment. Nothing needs configuring on a
development machine: PostgreSQL and RabbitMQ on localhost with their stock accounts.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.safe_xml import ParseLimits

MIB = 1024 * 1024
GIB = 1024 * MIB


class Role(StrEnum):
    """What an operator token may do: each role includes the ones before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def includes(self, other: Role) -> bool:
        """Whether this role may do what `other` may (roles are ordered by declaration)."""
        order = list(Role)
        return order.index(self) >= order.index(other)


class HubSettings(BaseSettings):
    """Everything the hub process needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/lienthong"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_management_url: str = "http://guest:guest@127.0.0.1:15672/"

    intake_exchange: str = "lienthong.intake"
    intake_queue: str = "lienthong.intake"
    mailbox_exchange: str = "lienthong.mailbox"
    mailbox_prefix: str = "lienthong.mailbox."
    unroutable_exchange: str = "lienthong.unroutable"
    unroutable_queue: str = "lienthong.unroutable"
    dead_letter_exchange: str = "lienthong.dead-letter"
    dead_letter_queue: str = "lienthong.dead-letter"
    # Broker users are global to RabbitMQ (not per vhost): the prefix keeps hubs apart.
    broker_user_prefix: str = "agency."
    delivery_limit: int = Field(default=20, ge=1)
    prefetch: int = Field(default=16, ge=1, le=1000)
    publish_timeout_s: float = Field(default=10.0, gt=0)
    database_retry_s: float = Field(default=2.0, gt=0)
    # Deliveries whose publish failed stay pending in the database; a sweeper retries them.
    redelivery_interval_s: float = Field(default=5.0, gt=0)
    redelivery_after_s: float = Field(default=15.0, ge=0)

    hub_code: str = "lienthong.hub"
    hub_name: str = "Trục liên thông văn bản"
    hub_key: Path = Path("var/pki/hub.key.pem")
    hub_certificate: Path = Path("var/pki/hub.cert.pem")
    trust_bundle: Path = Path("var/pki/ca.cert.pem")
    allow_legacy_sha1: bool = False
    max_package_bytes: int = Field(default=64 * MIB, gt=0)
    max_xml_depth: int = Field(default=64, gt=8, le=256)

    # Large attachments travel outside the packages, through this store (content-addressed).
    # The API and the worker processes of one hub must see the same directory.
    attachment_dir: Path = Path("var/hub/attachments")
    max_attachment_bytes: int = Field(default=2 * GIB, gt=0)
    # Files are kept this long after the newest document carrying them, then removed (audited).
    attachment_retention_days: int = Field(default=3650, ge=1)
    # Unfinished uploads, and uploaded files that no document claimed, are removed after this.
    attachment_partial_days: int = Field(default=7, ge=1)
    attachment_sweep_interval_s: float = Field(default=300.0, gt=0)
    # An upload's body silent this long ends there, as if the connection dropped (what came is
    # kept): a cut that never reaches the hub would otherwise hold the upload forever.
    attachment_body_idle_s: float = Field(default=60.0, gt=0)
    # One agency's unfinished uploads may hold at most this much (a new file counts at its size).
    attachment_partial_quota_bytes: int = Field(default=4 * GIB, gt=0)
    # Uploads are refused (507) rather than leave less than this free on the store's disk.
    attachment_min_free_bytes: int = Field(default=GIB, ge=0)
    # A purge right after a deletion on mistake leaves to the sweeper the files claimed or
    # uploaded this lately: their sender may be re-sending them in a corrected document.
    attachment_recent_claim_s: float = Field(default=600.0, ge=0)
    # Set a bucket to keep complete files in an S3-compatible object store instead (unfinished
    # uploads still grow in attachment_dir, which every hub process must share).
    attachment_s3_bucket: str | None = None
    attachment_s3_endpoint_url: str | None = None  # unset: AWS itself
    attachment_s3_region: str = "us-east-1"
    attachment_s3_access_key: str | None = None  # unset: the usual AWS credential chain
    attachment_s3_secret_key: SecretStr | None = None
    attachment_s3_prefix: str = ""

    # token -> role, e.g. LIENTHONG_OPERATOR_TOKENS='{"s3cret": "admin"}'
    operator_tokens: dict[str, Role] = Field(default_factory=dict)
    # Signs the dashboard's login cookies; set it when several API processes serve one hub
    # (unset: a random secret per process, and logins end when it restarts).
    dashboard_secret: SecretStr | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8400

    # A test seam: exit the worker right after the commit, before publishing or acking, to
    # prove that a crash there loses and duplicates nothing. Never set in production.
    crash_after_commit: bool = False

    @property
    def vhost(self) -> str:
        """The vhost named by the AMQP URL ('/' when the URL names none)."""
        path = urlsplit(self.amqp_url).path
        return unquote(path[1:]) if len(path) > 1 else "/"

    @property
    def management_credentials(self) -> tuple[str, SecretStr]:
        parts = urlsplit(self.amqp_management_url)
        return unquote(parts.username or "guest"), SecretStr(unquote(parts.password or "guest"))

    @property
    def management_base(self) -> str:
        parts = urlsplit(self.amqp_management_url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}"

    def parse_limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_package_bytes, max_depth=self.max_xml_depth)

    def as_environment(self) -> dict[str, str]:
        """These settings as the variables another hub process reads (a bench's or a test's
        worker): unset ones left out (not the text "None"), secrets in clear (not masked),
        tables as JSON."""
        return {
            f"LIENTHONG_{name.upper()}": _as_variable(value)
            for name, value in self.model_dump().items()
            if value is not None
        }

    def mailbox_queue(self, agency_code: str) -> str:
        return f"{self.mailbox_prefix}{agency_code}"


def _as_variable(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return json.dumps(value) if isinstance(value, dict | list) else str(value)
