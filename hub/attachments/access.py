"""Who is asking: an agency's request, signed with the key it signs its packages with.

The directory says which certificates an agency holds; only active agencies' current ones
(not revoked, within their validity) count. The lookup is one short read: nothing stays open
while a large body streams afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.directory import repository as directory
from hub.errors import Unauthenticated
from hub.models import Agency, AgencyState
from schemas.request_auth import RequestAuthError, parse_authorization, verify_authorization


async def authenticate(
    sessions: async_sessionmaker[AsyncSession], header: str | None, method: str, path: str
) -> str:
    """The code of the agency that signed this request; Unauthenticated saying why not."""
    try:
        signed = parse_authorization(header)
    except RequestAuthError as error:
        raise Unauthenticated(str(error)) from None
    async with sessions() as session:
        agency = await directory.agency_by_code(session, signed.agency)
    certificates = _current_certificates(agency, signed.agency[:64])
    try:
        return verify_authorization(signed, method, path, certificates)
    except RequestAuthError as error:
        raise Unauthenticated(str(error)) from None


def _current_certificates(agency: Agency | None, code: str) -> list[x509.Certificate]:
    if agency is None:
        raise Unauthenticated(f"agency '{code}' is not registered at this hub")
    if agency.state != AgencyState.ACTIVE:
        raise Unauthenticated(f"agency '{code}' is suspended")
    now = datetime.now(UTC)
    current = [
        x509.load_pem_x509_certificates(row.pem.encode())[0]
        for row in agency.certificates
        if row.revoked_at is None and row.not_before <= now <= row.not_after
    ]
    if not current:
        raise Unauthenticated(f"agency '{code}' has no current certificate at this hub")
    return current
