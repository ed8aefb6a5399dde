"""A hub on the real services for one test: its own database, vhost, CA and agencies.

Agencies are registered through the hub's own directory service, so their broker accounts,
mailboxes and certificates are exactly what production registration makes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from cryptography.hazmat.primitives.serialization import Encoding

from hub.broker_admin import BrokerAdmin
from hub.db import transaction
from hub.directory import service
from hub.directory.payloads import AgencyIn
from hub.intake.consumers import IntakeWorker
from hub.migrate import upgrade_async
from hub.models import AgencyLevel
from hub.runtime import BrokerProvisioner, Runtime, intake_context
from hub.settings import HubSettings
from schemas.keys import (
    SigningIdentity,
    create_ca,
    issue_agency_certificate,
    write_certificates,
    write_private_key,
)
from schemas.model import (
    Business,
    BusinessDocType,
    DocumentPackage,
    LienthongInfo,
    Organization,
    Package,
    ReplacementInfo,
    ResponseFor,
    StatusCode,
    StatusPackage,
)
from schemas.signing import sign_package
from schemas.writer import write_package
from tests.schemas.packages import document as make_document
from tests.schemas.packages import status as make_status
from tests.services import (
    delete_users_with_prefix,
    temporary_database,
    temporary_vhost,
    unique_name,
)

LIENTHONG = Path(sys.executable).parent / "lienthong"
WAIT_S = 20.0
SETTLE_S = 1.0


@dataclass
class Member:
    """A registered agency as a test drives it: its key, its broker password."""

    code: str
    identity: SigningIdentity
    username: str
    password: str

    def sign(self, package: Package) -> bytes:
        return sign_package(write_package(package), self.identity)


@dataclass
class HubStack:
    settings: HubSettings
    runtime: Runtime
    ca: SigningIdentity
    directory: Path
    members: dict[str, Member] = field(default_factory=dict)
    connections: list[AbstractRobustConnection] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a `lienthong` subprocess needs to be this very hub."""
        return (
            os.environ
            | self.settings.as_environment()
            | {f"LIENTHONG_{k.upper()}": v for k, v in extra.items()}
        )

    async def register(
        self, code: str, level: AgencyLevel, parent: str | None = None, *, certificate: bool = True
    ) -> Member:
        spec = AgencyIn(code=code, name=f"Agency {code}", level=level, parent_code=parent)
        identity = issue_agency_certificate(self.ca, code, spec.name, algorithm="ec")
        async with (
            transaction(self.runtime.sessions) as session,
            BrokerAdmin(self.settings) as admin,
        ):
            provisioner = BrokerProvisioner(self.settings, admin, self.runtime.broker)
            registered = await service.register(session, provisioner, spec, "test")
            if certificate:
                pem = identity.certificate.public_bytes(Encoding.PEM)
                await service.add_certificate(session, code, pem, [self.ca.certificate], "test")
        assert registered.broker_password is not None
        member = Member(code, identity, registered.agency.broker_user, registered.broker_password)
        self.members[code] = member
        return member

    async def connect_as(self, member: Member) -> AbstractRobustConnection:
        url = self.settings.amqp_url.replace("guest:guest", f"{member.username}:{member.password}")
        connection = await aio_pika.connect_robust(url)
        self.connections.append(connection)
        return connection

    async def publish(self, member: Member, body: bytes, message_id: str | None = None,
                      user_id: str | None = "own") -> None:  # fmt: skip
        """Publish to intake as the agency's own broker account (user_id validated by RabbitMQ)."""
        connection = await self.connect_as(member)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(self.settings.intake_exchange, ensure=False)
        message = aio_pika.Message(
            body, message_id=message_id or unique_name("env"), delivery_mode=2,
            user_id=member.username if user_id == "own" else user_id,
        )  # fmt: skip
        await exchange.publish(message, routing_key="envelope")
        await channel.close()

    async def drain(self, code: str, expect: int, timeout: float = WAIT_S) -> list[Any]:
        """Messages of an agency's mailbox: see ``drain_queue``."""
        return await self.drain_queue(self.settings.mailbox_queue(code), expect, timeout)

    async def drain_queue(self, name: str, expect: int, timeout: float = WAIT_S) -> list[Any]:
        """Take messages (as guest) until `expect` arrived and a settling second brought no
        more (a duplicate would show there), or until `timeout`."""
        connection = await aio_pika.connect(self.settings.amqp_url)
        try:
            queue = await (await connection.channel()).get_queue(name, ensure=False)
            return await _take(queue, expect, timeout)
        finally:
            await connection.close()

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """An intake worker in this process, for as long as the block runs."""
        worker = IntakeWorker(self.settings, self.runtime.sessions, self.runtime.broker,
                              intake_context(self.settings, self.runtime.store))  # fmt: skip
        await self.runtime.broker.declare_topology([m for m in self.members])
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    def worker_process(self, **extra: str) -> subprocess.Popen[bytes]:
        """`lienthong hub serve --role worker` as a separate process, as operators run it."""
        log = (self.directory / f"worker-{unique_name('log')}.log").open("wb")
        return subprocess.Popen(
            [str(LIENTHONG), "hub", "serve", "--role", "worker"], env=self.env(**extra),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def _take(queue: Any, expect: int, timeout: float) -> list[Any]:
    loop = asyncio.get_running_loop()
    found: list[Any] = []
    deadline, settled_at = loop.time() + timeout, None
    while loop.time() < deadline:
        message = await queue.get(fail=False, no_ack=True)
        if message is not None:
            found.append(message)
            continue
        if len(found) >= expect:
            settled_at = settled_at or loop.time() + SETTLE_S
            if loop.time() >= settled_at:
                break
        await asyncio.sleep(0.05)
    return found


def write_pki(directory: Path) -> tuple[SigningIdentity, Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    ca = create_ca("Test CA", algorithm="ec")
    hub = issue_agency_certificate(ca, "lienthong.hub", "lienthong hub", algorithm="ec")
    paths = directory / "hub.key.pem", directory / "hub.cert.pem", directory / "ca.cert.pem"
    write_private_key(hub.private_key, paths[0])
    write_certificates([hub.certificate, ca.certificate], paths[1])
    write_certificates([ca.certificate], paths[2])
    write_private_key(ca.private_key, directory / "ca.key.pem")  # for `lienthong keys agency`
    return ca, *paths


@asynccontextmanager
async def hub_stack(directory: Path, **overrides: Any) -> AsyncIterator[HubStack]:
    """A migrated database, a vhost with the hub's topology, a CA, and cleanup of it all."""
    ca, key, cert, bundle = write_pki(directory)
    async with temporary_database() as dsn, temporary_vhost() as amqp_url:
        settings = HubSettings(
            database_url=dsn.replace("postgresql://", "postgresql+asyncpg://"), amqp_url=amqp_url,
            broker_user_prefix=f"{unique_name('t')}.", hub_key=key, hub_certificate=cert,
            trust_bundle=bundle, delivery_limit=5, database_retry_s=0.3,
            redelivery_interval_s=0.5, redelivery_after_s=0.5, **overrides,
        )  # fmt: skip
        await upgrade_async(settings.database_url)
        runtime = Runtime.create(settings)
        await runtime.broker.connect()
        await runtime.broker.declare_topology()
        stack = HubStack(settings, runtime, ca, directory)
        try:
            yield stack
        finally:
            for connection in stack.connections:
                await connection.close()
            await runtime.close()
            await delete_users_with_prefix(settings.broker_user_prefix)


def document(sender: str, *recipients: str, subject: str = "V/v báo cáo") -> DocumentPackage:
    return make_document(
        sender=Organization(organ_id=sender, organ_name=f"Agency {sender}"),
        recipients=tuple(Organization(organ_id=r) for r in recipients),
        document_id=f"{sender},2026/11/26,{unique_name('doc')}",
        subject=subject,
    )


def revocation(doc: DocumentPackage, *recipients: str, delete: bool = False,
               sender: str | None = None) -> DocumentPackage:  # fmt: skip
    """A recall (or, with `delete`, a delete-on-mistake) of `doc` at some of its recipients."""
    return doc.model_copy(update={
        "sender": Organization(organ_id=sender or doc.sender.organ_id),
        "recipients": tuple(Organization(organ_id=r) for r in recipients),
        "attachments": (),
        "business": Business(doc_type=BusinessDocType.REVOCATION, reason="Gửi nhầm",
                             document_id=doc.document_id),
        "lienthong": LienthongInfo(envelope_id=unique_name("recall"), delete_on_mistake=delete),
    })  # fmt: skip


def revision(doc: DocumentPackage, kind: BusinessDocType, *recipients: str,
             sender: str | None = None) -> DocumentPackage:  # fmt: skip
    """An update or replacement of `doc`: a new DocumentId, linked to the old one."""
    sender = sender or doc.sender.organ_id
    replaced = (ReplacementInfo(document_id=doc.document_id or "", organ_ids=recipients),)
    return doc.model_copy(update={
        "sender": Organization(organ_id=sender),
        "recipients": tuple(Organization(organ_id=r) for r in recipients),
        "document_id": f"{sender},2026/11/26,{unique_name('rev')}",
        "business": Business(
            doc_type=kind, reason="Sửa số liệu", document_id=doc.document_id,
            replacements=replaced if kind is BusinessDocType.REPLACEMENT else (),
        ),
    })  # fmt: skip


def status_on(doc: DocumentPackage, reporter: str, code: str) -> StatusPackage:
    return make_status(
        StatusCode(code),
        sender=Organization(organ_id=reporter),
        response_for=ResponseFor(organ_id=doc.sender.organ_id, document_id=doc.document_id),
    )
