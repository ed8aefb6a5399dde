"""How many envelopes a second one intake worker verifies, records and routes.

``lienthong hub bench-intake`` builds a throw-away hub (its own database and vhost on the
local services), registers a sender and N recipients, fills the intake queue with signed
10 KB documents, then starts one worker process (`lienthong hub serve --role worker`, as in
production) and times it until every delivery is queued. Everything is removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aio_pika
import asyncpg
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from hub.bench_history import add_history
from hub.broker_admin import BrokerAdmin
from hub.db import transaction
from hub.directory import service
from hub.directory.payloads import AgencyIn
from hub.models import AgencyLevel, Delivery, DeliveryState
from hub.runtime import BrokerProvisioner, Runtime
from hub.settings import HubSettings
from schemas.errors import LienthongError
from schemas.keys import (
    SigningIdentity,
    create_ca,
    issue_agency_certificate,
    write_certificates,
    write_private_key,
)
from schemas.migration_child import upgrade_in_child
from schemas.model import Attachment, DocumentPackage, Organization
from schemas.signing import sign_package
from schemas.writer import write_package

SENDER = "000.00.29.H40"
TIMEOUT_S = 600.0  # for every delivery of a run to be queued
SESSIONS_END_S = 10.0  # for the worker's database sessions to end after it exited


@dataclass(frozen=True)
class IntakeResult:
    recipients: int
    envelopes: int
    seconds: float
    work: DatabaseWork  # what PostgreSQL did for the whole run

    @property
    def per_second(self) -> float:
        return self.envelopes / self.seconds


@dataclass(frozen=True)
class DatabaseWork:
    """WAL written and blocks read from outside PostgreSQL's cache (by the bench's
    database), from a checkpoint before the run to its end. Unlike the rate, they hardly move
    with the machine's speed: a cost that grows with the history shows here first. The WAL
    is the whole server's: on a server other work writes to, it counts that work too. The
    checkpoint needs a superuser or the pg_checkpoint role, as the bench's own database
    needs a role that may create one."""

    wal_bytes: int
    blocks_read: int
    envelopes: int

    @property
    def wal_kb_per_envelope(self) -> float:
        return self.wal_bytes / 1024 / self.envelopes

    @property
    def blocks_read_per_envelope(self) -> float:
        return self.blocks_read / self.envelopes


_WORK_NOW = text(
    "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, blks_read FROM pg_stat_database"
    " WHERE datname = current_database()"
)


_OTHER_SESSIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND backend_start > :since"
)


async def _until_sessions_ended(runtime: Runtime, since: datetime) -> None:
    """Until the sessions opened `since` (the worker's) have ended: a session's statistics
    (the blocks it read) are counted when it ends, a moment after its client exits."""
    deadline = time.monotonic() + SESSIONS_END_S
    while time.monotonic() < deadline:
        async with runtime.sessions() as session:
            if not await session.scalar(_OTHER_SESSIONS, {"since": since}):
                return
        await asyncio.sleep(0.05)
    raise BenchError(f"the worker's database sessions were still open {SESSIONS_END_S:.0f} s "
                     "after it exited")  # fmt: skip


async def _work_so_far(runtime: Runtime, *, checkpoint: bool = False) -> tuple[int, int]:
    """The server's WAL position and the database's blocks read so far."""
    async with runtime.sessions() as session:
        if checkpoint:  # so that the run writes each page it changes whole, as after any
            await session.execute(text("CHECKPOINT"))
        wal, read = (await session.execute(_WORK_NOW)).one()
    return int(wal), int(read)


def _document(recipients: list[str], size: int) -> DocumentPackage:
    return DocumentPackage(
        sender=Organization(organ_id=SENDER, organ_name="UBND huyện Hải Hậu"),
        recipients=tuple(Organization(organ_id=code) for code in recipients),
        document_id=f"{SENDER},bench,{uuid.uuid4()}",
        subject="V/v đo thông lượng trục liên thông",
        attachments=(Attachment(content_id="1", name="bench.bin", content=os.urandom(size)),),
    )


@asynccontextmanager
async def _bench_hub(directory: Path) -> AsyncIterator[tuple[HubSettings, SigningIdentity]]:
    """A hub of its own: database, vhost, CA and keys; all removed on exit."""
    name = f"lienthong_bench_{uuid.uuid4().hex[:8]}"
    base = HubSettings()
    database_url = (
        make_url(base.database_url).set(database=name).render_as_string(hide_password=False)
    )
    amqp_url = base.amqp_url.rstrip("/") + "/" + name
    ca = create_ca("bench CA", algorithm="ec")
    hub = issue_agency_certificate(ca, "lienthong.hub", "hub", algorithm="ec")
    write_private_key(hub.private_key, directory / "hub.key.pem")
    write_certificates([hub.certificate, ca.certificate], directory / "hub.cert.pem")
    write_certificates([ca.certificate], directory / "ca.cert.pem")
    settings = HubSettings(
        database_url=database_url, amqp_url=amqp_url, broker_user_prefix=f"{name}.",
        hub_key=directory / "hub.key.pem", hub_certificate=directory / "hub.cert.pem",
        trust_bundle=directory / "ca.cert.pem",
    )  # fmt: skip
    async with BrokerAdmin(settings) as admin:
        await admin.ensure_vhost()
        await admin.grant_hub_permissions(settings.management_credentials[0])
    try:
        yield settings, ca
    finally:
        await _remove(settings, name)


async def _remove(settings: HubSettings, name: str) -> None:
    async with BrokerAdmin(settings) as admin:
        for code in (SENDER, *_recipient_codes(10)):
            await admin.delete_agency_account(code)
        await admin.delete_vhost()
    maintenance = make_url(settings.database_url).set(database="postgres")
    admin_db = await asyncpg.connect(_plain_dsn(maintenance.render_as_string(hide_password=False)))
    try:
        await admin_db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin_db.close()


def _plain_dsn(database_url: str) -> str:
    """asyncpg's address for a SQLAlchemy URL."""
    return database_url.replace("+asyncpg", "")


def _recipient_codes(count: int) -> list[str]:
    return [f"000.{index:02d}.29.H40" for index in range(1, count + 1)]


async def _register(
    runtime: Runtime, ca: SigningIdentity, recipients: int
) -> tuple[SigningIdentity, str]:
    sender = issue_agency_certificate(ca, SENDER, "UBND huyện Hải Hậu", algorithm="ec")
    async with transaction(runtime.sessions) as session, BrokerAdmin(runtime.settings) as admin:
        provisioner = BrokerProvisioner(runtime.settings, admin, runtime.broker)
        spec = AgencyIn(code=SENDER, name="UBND huyện Hải Hậu", level=AgencyLevel.DISTRICT)
        password = (await service.register(session, provisioner, spec, "bench")).broker_password
        for code in _recipient_codes(recipients):
            commune = AgencyIn(
                code=code, name=f"xã {code}", level=AgencyLevel.COMMUNE, parent_code=SENDER
            )
            await service.register(session, provisioner, commune, "bench")
        pem = sender.certificate.public_bytes(Encoding.PEM)
        await service.add_certificate(session, SENDER, pem, [ca.certificate], "bench")
    assert password is not None
    return sender, password


async def _fill_intake(settings: HubSettings, sender: SigningIdentity, password: str,
                       bodies: list[bytes]) -> None:  # fmt: skip
    user = f"{settings.broker_user_prefix}{SENDER}"
    url = settings.amqp_url.replace(settings.amqp_url.split("@")[0], f"amqp://{user}:{password}")
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.intake_exchange, ensure=False)
        for body in bodies:
            message = aio_pika.Message(
                body, message_id=str(uuid.uuid4()), user_id=user, delivery_mode=2
            )
            await exchange.publish(message, routing_key="envelope")


async def _queued_window(runtime: Runtime, worker: subprocess.Popen[bytes], log: Path,
                         expected: int, after: datetime) -> tuple[datetime, datetime]:  # fmt: skip
    """When the first and the last of the run's deliveries (recorded `after`) were queued."""
    deadline = time.monotonic() + TIMEOUT_S
    query = select(func.count(), func.min(Delivery.queued_at), func.max(Delivery.queued_at)).where(
        Delivery.state == DeliveryState.QUEUED, Delivery.created_at > after
    )
    while time.monotonic() < deadline:
        async with runtime.sessions() as session:
            count, first, last = (await session.execute(query)).one()
        if count >= expected and first is not None and last is not None:
            return first, last
        if worker.poll() is not None:
            raise BenchError(_worker_died(worker, log))
        await asyncio.sleep(0.2)
    raise TimeoutError(f"only {count} of {expected} deliveries were queued in {TIMEOUT_S:.0f} s")


class BenchError(LienthongError):
    """The bench could not measure (its worker process failed)."""


def _worker_died(worker: subprocess.Popen[bytes], log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return f"the hub worker exited with code {worker.returncode}: {lines[-1] if lines else ''}"


def _worker(settings: HubSettings, log: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "lienthong"), "hub", "serve", "--role", "worker"]
    with log.open("ab") as out:
        # The command is this installation's own console script, not outside input.
        return subprocess.Popen(  # noqa: S603
            command, env=os.environ | settings.as_environment(), stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


async def bench_intake(recipients: int, envelopes: int, size: int, directory: Path,
                       history: int = 0) -> IntakeResult:  # fmt: skip
    """One worker process against a full intake queue; the rate between first and last
    delivery. With `history`, the hub already holds that many documents (bench_history)."""
    async with _bench_hub(directory) as (settings, ca):
        await upgrade_in_child("hub.migrate", settings.database_url)
        runtime = Runtime.create(settings)
        await runtime.broker.connect()
        try:
            await runtime.broker.declare_topology()
            sender, password = await _register(runtime, ca, recipients)
            codes = _recipient_codes(recipients)
            if history:
                await add_history(_plain_dsn(settings.database_url), SENDER, codes, history)
            async with runtime.sessions() as session:  # the database's clock stamps rows
                before_run: datetime = (await session.execute(select(func.now()))).scalar_one()
            bodies = [
                sign_package(write_package(_document(codes, size)), sender)
                for _ in range(envelopes)
            ]
            await _fill_intake(settings, sender, password, bodies)
            log = directory / "worker.log"
            start = await _work_so_far(runtime, checkpoint=True)
            worker = _worker(settings, log)
            try:
                first, last = await _queued_window(
                    runtime, worker, log, envelopes * recipients, before_run
                )
            finally:
                worker.terminate()
                await asyncio.to_thread(worker.wait, 30)
            await _until_sessions_ended(runtime, before_run)
            end = await _work_so_far(runtime)
        finally:
            await runtime.close()
    work = DatabaseWork(end[0] - start[0], end[1] - start[1], envelopes)
    return IntakeResult(recipients, envelopes - 1, (last - first).total_seconds(), work)
