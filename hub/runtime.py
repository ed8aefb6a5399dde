"""Assembling a hub process from its settings: database, broker, keys, workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.attachments.backends import open_store
from hub.attachments.store import AttachmentStore
from hub.broker import Broker
from hub.broker_admin import BrokerAdmin, agency_username
from hub.db import make_engine, make_sessions
from hub.errors import ConfigurationError
from hub.intake.assessment import Policy
from hub.intake.service import IntakeContext
from hub.settings import HubSettings
from hub.tally import HistoryTally
from schemas.errors import KeyMaterialError
from schemas.keys import SigningIdentity, load_certificates, load_signing_identity


def load_trust(settings: HubSettings) -> tuple[x509.Certificate, ...]:
    try:
        return load_certificates(settings.trust_bundle)
    except KeyMaterialError as error:
        raise ConfigurationError(
            f"the trust bundle (LIENTHONG_TRUST_BUNDLE) cannot be used: {error}; "
            "for a sandbox, run `lienthong hub init-pki`"
        ) from None


def load_hub_identity(settings: HubSettings) -> SigningIdentity:
    try:
        return load_signing_identity(settings.hub_key, settings.hub_certificate)
    except KeyMaterialError as error:
        raise ConfigurationError(
            f"the hub's signing key (LIENTHONG_HUB_KEY, LIENTHONG_HUB_CERTIFICATE) cannot be "
            f"used: {error}; for a sandbox, run `lienthong hub init-pki`"
        ) from None


def intake_context(settings: HubSettings, store: AttachmentStore) -> IntakeContext:
    policy = Policy(load_trust(settings), settings.parse_limits(), settings.allow_legacy_sha1)
    identity = load_hub_identity(settings)
    return IntakeContext(policy, identity, settings.hub_code, settings.hub_name, store)


@dataclass
class Runtime:
    """The long-lived parts of one hub process."""

    settings: HubSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    store: AttachmentStore  # one per process: an S3 client is costly to make
    tally: HistoryTally = field(default_factory=HistoryTally)  # what /metrics has counted

    @classmethod
    def create(cls, settings: HubSettings) -> Runtime:
        engine = make_engine(settings.database_url, settings.prefetch)
        return cls(settings, engine, make_sessions(engine), Broker(settings), open_store(settings))

    async def close(self) -> None:
        await self.broker.close()
        await self.engine.dispose()


class BrokerProvisioner:
    """Registration's broker side: a least-privilege account and a mailbox queue."""

    def __init__(self, settings: HubSettings, admin: BrokerAdmin, broker: Broker) -> None:
        self.settings, self.admin, self.broker = settings, admin, broker

    def username(self, code: str) -> str:
        return agency_username(self.settings, code)

    def mailbox(self, code: str) -> str:
        return self.settings.mailbox_queue(code)

    async def provision(self, code: str) -> str:
        await self.broker.declare_mailbox(code)
        return await self.admin.ensure_agency_account(code)
