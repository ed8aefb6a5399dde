"""Directory logic: register agencies with their broker accounts, groups, certificates.

Functions take the caller's session and only flush; the edge (CLI command, request, consumer)
commits. Broker side effects are idempotent, so a rolled-back registration can simply be
repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.directory import repository
from hub.directory.payloads import AgencyIn, AgencyOut, ImportSummary, Registered
from hub.errors import Conflict, InvalidRequest, NotFound
from hub.models import Agency, AgencyCertificate, AgencyGroup, AgencyLevel, AgencyState
from schemas.keys import certificate_info
from schemas.trust import trust_problem

GROUP_RULES = {
    AgencyLevel.DISTRICT: ("communes", "children:commune", "Các xã, thị trấn thuộc {}"),
    AgencyLevel.PROVINCE: ("all", "descendants", "Mọi cơ quan thuộc {}"),
}


class Provisioner(Protocol):
    """The broker side of registration: an account and a mailbox queue per agency."""

    def username(self, code: str) -> str: ...
    def mailbox(self, code: str) -> str: ...
    async def provision(self, code: str) -> str: ...  # returns the new broker password


async def get_agency(session: AsyncSession, code: str) -> Agency:
    agency = await repository.agency_by_code(session, code)
    if agency is None:
        raise NotFound(f"no agency with code '{code}' is registered")
    return agency


async def register(
    session: AsyncSession, broker: Provisioner, spec: AgencyIn, actor: str
) -> Registered:
    """A new agency: directory row, addressing group, broker account and mailbox."""
    if await repository.agency_by_code(session, spec.code) is not None:
        raise Conflict(f"agency '{spec.code}' is already registered")
    if any(spec.code.endswith(f"-{suffix}") for suffix, _, _ in GROUP_RULES.values()):
        raise InvalidRequest(f"'{spec.code}' has the form of a group address; choose another code")
    await _require_parent(session, spec)
    agency = Agency(
        code=spec.code, name=spec.name, level=spec.level, parent_code=spec.parent_code,
        state=AgencyState.ACTIVE, broker_user=broker.username(spec.code), certificates=[],
    )  # fmt: skip
    await repository.add(session, agency)
    await _add_group(session, agency)
    password = await broker.provision(spec.code)
    detail: dict[str, object] = {"name": spec.name, "level": spec.level, "parent": spec.parent_code}
    audit.append(session, "register-agency", actor, spec.code, detail)
    return Registered(
        agency=AgencyOut.of(agency, broker.mailbox(agency.code)), broker_password=password
    )


async def _add_group(session: AsyncSession, agency: Agency) -> None:
    rule = GROUP_RULES.get(AgencyLevel(agency.level))
    if rule is None:
        return
    suffix, kind, name = rule
    group = AgencyGroup(
        code=f"{agency.code}-{suffix}", name=name.format(agency.name), anchor_code=agency.code,
        rule=kind,
    )  # fmt: skip
    await repository.add(session, group)


def _fields(spec: AgencyIn) -> tuple[str, str, str | None]:
    return spec.name, spec.level.value, spec.parent_code


async def _require_parent(session: AsyncSession, spec: AgencyIn) -> None:
    if spec.parent_code and await repository.agency_by_code(session, spec.parent_code) is None:
        raise InvalidRequest(f"parent '{spec.parent_code}' of '{spec.code}' is not registered")


def _parents_first(specs: Sequence[AgencyIn]) -> list[AgencyIn]:
    """Import order: every parent before its children, whatever order the file has."""
    pending = {spec.code: spec for spec in specs}
    if len(pending) < len(specs):
        twice = sorted({s.code for s in specs if sum(o.code == s.code for o in specs) > 1})
        raise InvalidRequest(f"these codes appear more than once: {', '.join(twice[:5])}")
    ordered: list[AgencyIn] = []
    while pending:
        ready = [s for s in pending.values() if s.parent_code not in pending]
        if not ready:
            raise InvalidRequest(f"the parents of {sorted(pending)[:3]} form a cycle")
        for spec in ready:
            ordered.append(pending.pop(spec.code))
    return ordered


async def import_agencies(
    session: AsyncSession, broker: Provisioner, specs: Sequence[AgencyIn], actor: str
) -> ImportSummary:
    """Register the new agencies of a list and update the names and parents of known ones."""
    summary = ImportSummary(created=[], updated=[], unchanged=[], groups=[])
    for spec in _parents_first(specs):
        existing = await repository.agency_by_code(session, spec.code)
        if existing is None:
            registered = await register(session, broker, spec, actor)
            summary.created.append(registered)
        elif (existing.name, existing.level, existing.parent_code) != _fields(spec):
            await _require_parent(session, spec)
            existing.name, existing.level, existing.parent_code = _fields(spec)
            summary.updated.append(spec.code)
            audit.append(session, "update-agency", actor, spec.code, {"name": spec.name})
        else:
            summary.unchanged.append(spec.code)
    await session.flush()
    summary.groups = [g.code for g in await repository.groups(session)]
    return summary


async def set_state(session: AsyncSession, code: str, state: AgencyState, actor: str) -> Agency:
    agency = await get_agency(session, code)
    agency.state = state
    audit.append(session, f"set-state-{state}", actor, code, {})
    return agency


def _leaf_certificate(pem: bytes) -> x509.Certificate:
    """The agency's own certificate: the first of the file (the rest may be its chain)."""
    try:
        return x509.load_pem_x509_certificates(pem)[0]
    except ValueError:
        raise InvalidRequest("the certificate is not PEM (-----BEGIN CERTIFICATE-----)") from None


async def add_certificate(
    session: AsyncSession, code: str, pem: bytes, trust: Sequence[x509.Certificate], actor: str
) -> AgencyCertificate:
    """Register a signing certificate to an agency; it must chain to the trust bundle."""
    agency = await get_agency(session, code)
    cert = _leaf_certificate(pem)
    info = certificate_info(cert)
    if info.agency_code and info.agency_code != code and "." in info.agency_code:
        raise Conflict(f"the certificate names agency '{info.agency_code}', not '{code}'")
    problem = trust_problem((cert,), trust, datetime.now(UTC))
    if problem is not None:
        raise InvalidRequest(f"the certificate is not usable: {problem}")
    if await repository.certificate(session, info.sha256_fingerprint) is not None:
        raise Conflict(f"certificate {info.sha256_fingerprint[:16]}… is already registered")
    row = AgencyCertificate(
        agency_id=agency.id, fingerprint=info.sha256_fingerprint, subject=info.subject,
        not_before=info.not_before, not_after=info.not_after,
        pem=pem.decode("ascii", errors="replace"),
    )  # fmt: skip
    await repository.add(session, row)
    audit.append(session, "add-certificate", actor, code, {"fingerprint": row.fingerprint})
    return row


async def revoke_certificate(
    session: AsyncSession, code: str, fingerprint: str, actor: str
) -> AgencyCertificate:
    agency = await get_agency(session, code)
    match = [c for c in agency.certificates if c.fingerprint.startswith(fingerprint.lower())]
    if len(match) != 1:
        raise NotFound(f"'{code}' has {len(match)} certificates matching '{fingerprint}'")
    match[0].revoked_at = datetime.now(UTC)
    detail: dict[str, object] = {"fingerprint": match[0].fingerprint}
    audit.append(session, "revoke-certificate", actor, code, detail)
    return match[0]
