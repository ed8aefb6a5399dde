"""An agency adapter's settings: ``LIENTHONG_ADAPTER_`` environment variables.

The only place the adapter reads the environment. The prefix differs from the hub's so that a
hub and several adapters can run side by side on one machine (as `lienthong dev up` does).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.safe_xml import ParseLimits

MIB = 1024 * 1024
GIB = 1024 * MIB


class AdapterSettings(BaseSettings):
    """Who this adapter is, where the hub and broker are, and who may call its API."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_ADAPTER_", extra="ignore")

    agency_code: str
    agency_name: str = ""
    key: Path = Path("var/adapter/agency.key.pem")
    certificate: Path = Path("var/adapter/agency.cert.pem")
    key_password: str | None = None
    # The agency's own broker account: it may write to intake and read its mailbox, no more.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    intake_exchange: str = "lienthong.intake"
    intake_routing_key: str = "envelope"
    mailbox_prefix: str = "lienthong.mailbox."
    prefetch: int = Field(default=8, ge=1, le=1000)
    publish_timeout_s: float = Field(default=10.0, gt=0)
    # Trust bundle: fetched from the hub (hub_url + hub_token), else read from this file.
    hub_url: str | None = None
    hub_token: str | None = None
    trust_bundle: Path = Path("var/adapter/trust.pem")
    allow_legacy_sha1: bool = False
    database_url: str = "sqlite+aiosqlite:///var/adapter/adapter.db"
    # API key -> name of the local system holding it.
    api_keys: dict[str, str] = Field(default_factory=dict)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Also the idle poll: events this process commits are sent at once; those another process
    # wrote reach the webhook within this long when all is well.
    webhook_retry_s: float = Field(default=1.0, gt=0)
    # A failing event is retried after webhook_retry_s, then twice as long each time, up to this.
    webhook_max_backoff_s: float = Field(default=60.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    max_document_bytes: int = Field(default=32 * MIB, gt=0)
    host: str = "127.0.0.1"
    port: int = 8500
    outbox_retry_s: float = Field(default=2.0, gt=0)
    outbox_max_backoff_s: float = Field(default=60.0, gt=0)
    # Large attachments: files above the inline limit travel through the hub's attachment
    # store (at hub_url), not inside the package; here they rest content-addressed on disk.
    attachment_dir: Path = Path("var/adapter/attachments")
    # A document whose attachments total more than this sends its largest files outside.
    inline_limit_bytes: int = Field(default=4 * MIB, ge=0)
    max_attachment_bytes: int = Field(default=2 * GIB, gt=0)
    upload_chunk_bytes: int = Field(default=8 * MIB, gt=0)
    # What the kernel may hold of a download from the hub before the adapter reads it. Unbound,
    # the event loop takes in several MB at each wake-up on a fast link. A download moves at
    # most about this much per round trip (256 KiB: some 100 Mbit/s at 20 ms); raise it on a
    # long, fast link; 0 leaves the size to the kernel.
    download_buffer_bytes: int = Field(default=256 * 1024, ge=0)
    # A received document whose files the hub cannot give yet (away, or the file missing) is
    # tried again after attachment_retry_s, then twice as long each time, up to this; for as
    # long as it takes (the metrics show how many wait, and since when).
    attachment_retry_s: float = Field(default=2.0, gt=0)
    attachment_max_backoff_s: float = Field(default=600.0, gt=0)

    @property
    def mailbox_queue(self) -> str:
        return f"{self.mailbox_prefix}{self.agency_code}"

    def parse_limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_document_bytes)
