"""What every part of a running adapter shares: who it is, its key, whom it trusts."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from cryptography import x509

from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.errors import ConfigurationError
from agency_adapter.settings import AdapterSettings
from schemas.errors import KeyMaterialError
from schemas.http_tls import outgoing_client
from schemas.keys import SigningIdentity, load_certificates, load_signing_identity
from schemas.model import Organization


@dataclass(frozen=True)
class AdapterContext:
    settings: AdapterSettings
    identity: SigningIdentity
    trust: tuple[x509.Certificate, ...]

    @property
    def agency(self) -> Organization:
        return Organization(
            organ_id=self.settings.agency_code, organ_name=self.settings.agency_name or None
        )

    @property
    def attachments(self) -> AttachmentStore:
        """Where this adapter keeps files that travel outside packages."""
        return AttachmentStore(self.settings.attachment_dir)


def _identity(settings: AdapterSettings) -> SigningIdentity:
    try:
        return load_signing_identity(settings.key, settings.certificate, settings.key_password)
    except KeyMaterialError as error:
        raise ConfigurationError(
            f"the agency's key (LIENTHONG_ADAPTER_KEY / _CERTIFICATE) cannot be used: {error}"
        ) from None


async def _refresh_trust(settings: AdapterSettings) -> None:
    """Fetch the hub's trust bundle into the local file (kept for when the hub is away)."""
    if not settings.hub_url:
        return
    headers = {"Authorization": f"Bearer {settings.hub_token}"} if settings.hub_token else {}
    try:
        async with outgoing_client(base_url=settings.hub_url, timeout=10) as client:
            answer = await client.get("/v1/trust-bundle", headers=headers)
            answer.raise_for_status()
    except httpx.HTTPError:
        return  # the copy on disk (if any) still serves; loading it says so when it is missing
    x509.load_pem_x509_certificates(answer.content)  # refuse to store garbage
    settings.trust_bundle.parent.mkdir(parents=True, exist_ok=True)
    settings.trust_bundle.write_bytes(answer.content)


async def load_context(settings: AdapterSettings) -> AdapterContext:
    await _refresh_trust(settings)
    try:
        trust = load_certificates(settings.trust_bundle)
    except KeyMaterialError as error:
        raise ConfigurationError(
            f"no trust bundle: {error} (set LIENTHONG_ADAPTER_HUB_URL and _HUB_TOKEN, or put "
            "the CA certificates at LIENTHONG_ADAPTER_TRUST_BUNDLE)"
        ) from None
    return AdapterContext(settings, _identity(settings), trust)
