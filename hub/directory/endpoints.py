"""Directory routes: agencies, their certificates and addressing groups."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from hub.api.dependencies import Admin, CurrentRuntime, Session, Viewer, actor
from hub.broker_admin import BrokerAdmin
from hub.directory import repository, service
from hub.directory.payloads import AgencyIn, AgencyOut, CertificateOut, Registered
from hub.models import AgencyState
from hub.runtime import BrokerProvisioner, load_trust

router = APIRouter(prefix="/v1", tags=["directory"])


class CertificateIn(BaseModel):
    pem: str


class GroupOut(BaseModel):
    code: str
    name: str
    anchor_code: str
    rule: str


@router.get("/agencies")
async def list_agencies(db: Session, rt: CurrentRuntime, _: Viewer) -> list[AgencyOut]:
    """Every registered agency, by code."""
    return [
        AgencyOut.of(a, rt.settings.mailbox_queue(a.code)) for a in await repository.agencies(db)
    ]


@router.get("/agencies/{code}")
async def show_agency(code: str, db: Session, rt: CurrentRuntime, _: Viewer) -> AgencyOut:
    """One agency with its certificates."""
    return AgencyOut.of(await service.get_agency(db, code), rt.settings.mailbox_queue(code))


@router.post("/agencies", status_code=status.HTTP_201_CREATED)
async def register_agency(
    spec: AgencyIn, db: Session, rt: CurrentRuntime, role: Admin
) -> Registered:
    """Register an agency: its mailbox, its broker account (password shown once) and group."""
    async with BrokerAdmin(rt.settings) as admin:
        provisioner = BrokerProvisioner(rt.settings, admin, rt.broker)
        return await service.register(db, provisioner, spec, actor(role))


@router.post("/agencies/{code}/suspend")
async def suspend_agency(code: str, db: Session, rt: CurrentRuntime, role: Admin) -> AgencyOut:
    """Suspend an agency: it can no longer send or receive."""
    agency = await service.set_state(db, code, AgencyState.SUSPENDED, actor(role))
    return AgencyOut.of(agency, rt.settings.mailbox_queue(code))


@router.post("/agencies/{code}/activate")
async def activate_agency(code: str, db: Session, rt: CurrentRuntime, role: Admin) -> AgencyOut:
    """Lift a suspension."""
    agency = await service.set_state(db, code, AgencyState.ACTIVE, actor(role))
    return AgencyOut.of(agency, rt.settings.mailbox_queue(code))


@router.post("/agencies/{code}/certificates", status_code=status.HTTP_201_CREATED)
async def add_certificate(
    code: str, body: CertificateIn, db: Session, rt: CurrentRuntime, role: Admin
) -> CertificateOut:
    """Register a signing certificate (PEM) to an agency; it must chain to the trust bundle."""
    trust = load_trust(rt.settings)
    cert = await service.add_certificate(db, code, body.pem.encode(), trust, actor(role))
    return CertificateOut.of(cert)


@router.post("/agencies/{code}/certificates/{fingerprint}/revoke")
async def revoke_certificate(
    code: str, fingerprint: str, db: Session, role: Admin
) -> CertificateOut:
    """Revoke a certificate (by its SHA-256 fingerprint or a unique prefix of it)."""
    return CertificateOut.of(await service.revoke_certificate(db, code, fingerprint, actor(role)))


@router.get("/groups")
async def list_groups(db: Session, _: Viewer) -> list[GroupOut]:
    """Addressing groups: the communes of a district, every agency of a province."""
    return [
        GroupOut(code=g.code, name=g.name, anchor_code=g.anchor_code, rule=g.rule)
        for g in await repository.groups(db)
    ]
