"""The hub's commands in the `lienthong` CLI: serve, db, agency, audit, init-pki.

Registered through the ``lienthong.commands`` entry points, so the envelope CLI in ``schemas``
never imports the hub.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import verify_chain
from hub.bench import bench_intake
from hub.bench_baseline import bare_pipeline
from hub.broker import publish_as
from hub.broker_admin import BrokerAdmin
from hub.db import transaction, unusable_database
from hub.directory import repository, service
from hub.directory.payloads import AgencyIn, AgencyOut, Registered
from hub.models import AgencyLevel, AgencyState
from hub.runtime import BrokerProvisioner, Runtime, load_trust
from hub.service_main import ServeRole
from hub.settings import HubSettings
from hub.timeline.service import by_envelope_id
from schemas.errors import LienthongError
from schemas.event_loop import run_on_uvloop
from schemas.keys import create_ca, issue_agency_certificate, write_certificates, write_private_key
from schemas.migration_child import MigrationFailed, upgrade_in_child
from schemas.model import VIETNAM_TIME
from schemas.serving import replace_with_service

T = TypeVar("T")
OPERATOR = f"cli:{getpass.getuser()}"
hub_app = typer.Typer(help="Run the hub.", no_args_is_help=True)
db_app = typer.Typer(help="The hub's database.", no_args_is_help=True)
agency_app = typer.Typer(help="The agency directory.", no_args_is_help=True)
cert_app = typer.Typer(help="Agencies' signing certificates.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
agency_app.add_typer(cert_app, name="cert")


def settings() -> HubSettings:
    """The LIENTHONG_ settings, or a usage error naming the bad variable."""
    try:
        return HubSettings()
    except SettingsError as error:
        typer.echo(f"lienthong: a LIENTHONG_ setting cannot be read: {error}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as error:
        for fault in error.errors():
            typer.echo(
                f"lienthong: LIENTHONG_{str(fault['loc'][0]).upper()}: {fault['msg']}", err=True
            )
        raise typer.Exit(2) from None


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a deliberate error is one line on stderr and exit 1."""
    try:
        return run_on_uvloop(work)
    except LienthongError as error:
        typer.echo(f"lienthong: {error}", err=True)
    except (DBAPIError, OSError) as error:
        typer.echo(f"lienthong: {unusable_database(error)}", err=True)
    raise typer.Exit(1)


async def _in_transaction(
    work: Callable[[AsyncSession, Runtime], Awaitable[T]], broker: bool = False
) -> T:
    runtime = Runtime.create(settings())
    try:
        if broker:
            await runtime.broker.connect()
            await runtime.broker.declare_topology()  # registering implies a topology to join
        async with transaction(runtime.sessions) as session:
            return await work(session, runtime)
    finally:
        await runtime.close()


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@hub_app.command("serve")
def serve_command(
    role: Annotated[ServeRole, typer.Option(help="api, worker, or both.")] = ServeRole.ALL,
) -> None:
    """Run the hub: migrate, then the HTTP API and/or the intake worker."""
    settings()  # a bad setting is said here, as a usage error, before the service starts
    replace_with_service("hub", "--role", role.value)


@hub_app.command("init-pki")
def init_pki(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write.")] = Path("var/pki"),
) -> None:
    """Sandbox only: a test CA and the hub's signing key, where the default settings look."""
    ca = create_ca("lienthong sandbox CA", algorithm="ec")
    hub = issue_agency_certificate(ca, "lienthong.hub", "lienthong hub", algorithm="ec")
    directory.mkdir(parents=True, exist_ok=True)
    write_private_key(ca.private_key, directory / "ca.key.pem")
    write_certificates([ca.certificate], directory / "ca.cert.pem")
    write_private_key(hub.private_key, directory / "hub.key.pem")
    write_certificates([hub.certificate, ca.certificate], directory / "hub.cert.pem")
    typer.echo(f"wrote a sandbox CA and the hub's key to {directory}/")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (idempotent)."""
    try:
        run_on_uvloop(upgrade_in_child("hub.migrate", settings().database_url))
    except MigrationFailed as error:
        typer.echo(f"lienthong: cannot migrate the database (LIENTHONG_DATABASE_URL): {error}",
                   err=True)  # fmt: skip
        raise typer.Exit(1) from None
    typer.echo("database is at the latest migration")


def _registered_row(item: Registered) -> list[str]:
    agency = item.agency
    return [agency.code, agency.broker_user, item.broker_password or "", agency.mailbox]


async def _register(session: AsyncSession, runtime: Runtime, spec: AgencyIn) -> Registered:
    async with BrokerAdmin(runtime.settings) as admin:
        provisioner = BrokerProvisioner(runtime.settings, admin, runtime.broker)
        return await service.register(session, provisioner, spec, OPERATOR)


@agency_app.command("add")
def agency_add(
    code: str,
    name: Annotated[str, typer.Option(help="Official name.")],
    level: Annotated[AgencyLevel, typer.Option(help="province, department, district, commune...")],
    parent: Annotated[str | None, typer.Option(help="Parent agency code.")] = None,
) -> None:
    """Register an agency: directory entry, mailbox and broker account (password shown once)."""
    try:
        spec = AgencyIn(code=code, name=name, level=level, parent_code=parent)
    except ValidationError as error:
        raise typer.BadParameter(error.errors()[0]["msg"]) from None
    item = run(_in_transaction(lambda s, r: _register(s, r, spec), broker=True))
    typer.echo(f"registered {code}; broker account {item.agency.broker_user}")
    typer.echo(
        f"broker password (shown once, give it to the agency's adapter): {item.broker_password}"
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    """The file's records: a JSON list of objects, or CSV with a header line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = (
            json.loads(text)
            if path.suffix.lower() == ".json"
            else list(csv.DictReader(text.splitlines()))
        )
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as error:
        raise typer.BadParameter(f"{path.name} cannot be read: {error}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise typer.BadParameter(f"{path.name} must hold a list of agencies (objects)")
    return rows


def _read_specs(path: Path) -> list[AgencyIn]:
    rows = _rows(path)
    specs = []
    for number, row in enumerate(rows, start=2 if path.suffix.lower() != ".json" else 1):
        try:
            specs.append(AgencyIn(**{k: (v or None) for k, v in row.items() if k}))
        except ValidationError as error:
            fault = error.errors()[0]
            field = ".".join(map(str, fault["loc"])) or "row"
            raise typer.BadParameter(f"row {number}, {field}: {fault['msg']}") from None
    return specs


@agency_app.command("import")
def agency_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON.")],
    credentials: Annotated[
        Path | None, typer.Option(help="Write new broker passwords here (CSV).")
    ] = None,
) -> None:
    """Register every new agency of a CSV (code,name,level,parent_code) or JSON file."""
    specs = _read_specs(file)

    async def work(session: AsyncSession, runtime: Runtime) -> Any:
        async with BrokerAdmin(runtime.settings) as admin:
            provisioner = BrokerProvisioner(runtime.settings, admin, runtime.broker)
            return await service.import_agencies(session, provisioner, specs, OPERATOR)

    summary = run(_in_transaction(work, broker=True))
    rows = [_registered_row(item) for item in summary.created]
    if credentials is not None and rows:
        credentials.touch(mode=0o600)
        with credentials.open("w", newline="") as out:
            csv.writer(out).writerows(
                [["code", "broker_user", "broker_password", "mailbox"], *rows]
            )
    counts = f"created {len(summary.created)}, updated {len(summary.updated)}"
    typer.echo(f"{counts}, unchanged {len(summary.unchanged)}; {len(summary.groups)} groups")
    if rows and credentials is None:
        typer.echo("broker passwords (shown once):")
        for row in rows:
            typer.echo("  " + "  ".join(row[:3]))


@agency_app.command("list")
def agency_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every registered agency."""

    async def work(session: AsyncSession, runtime: Runtime) -> list[AgencyOut]:
        return [
            AgencyOut.of(a, runtime.settings.mailbox_queue(a.code))
            for a in await repository.agencies(session)
        ]

    agencies = run(_in_transaction(work))
    if as_json:
        _echo_json([a.model_dump(mode="json") for a in agencies])
        return
    for a in agencies:
        typer.echo(f"{a.code:<16} {a.level:<10} {a.state:<9} {a.parent_code or '-':<16} {a.name}")


@agency_app.command("show")
def agency_show(code: str) -> None:
    """One agency, its certificates and mailbox."""

    async def work(session: AsyncSession, runtime: Runtime) -> AgencyOut:
        return AgencyOut.of(
            await service.get_agency(session, code), runtime.settings.mailbox_queue(code)
        )

    _echo_json(run(_in_transaction(work)).model_dump(mode="json"))


def _set_state(code: str, state: AgencyState) -> None:
    run(_in_transaction(lambda s, r: service.set_state(s, code, state, OPERATOR)))
    typer.echo(f"{code} is {state}")


@agency_app.command("suspend")
def agency_suspend(code: str) -> None:
    """Suspend an agency: the hub refuses what it sends and what is sent to it."""
    _set_state(code, AgencyState.SUSPENDED)


@agency_app.command("activate")
def agency_activate(code: str) -> None:
    """Lift a suspension."""
    _set_state(code, AgencyState.ACTIVE)


@cert_app.command("add")
def cert_add(
    code: str, certificate: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]
) -> None:
    """Register a signing certificate (PEM) to an agency; it must chain to the trust bundle."""
    pem = certificate.read_bytes()
    row = run(
        _in_transaction(
            lambda s, r: service.add_certificate(s, code, pem, load_trust(r.settings), OPERATOR)
        )
    )
    typer.echo(
        f"registered certificate {row.fingerprint} ({row.subject}) to {code}, "
        f"valid to {row.not_after:%Y-%m-%d}"
    )


@cert_app.command("revoke")
def cert_revoke(code: str, fingerprint: str) -> None:
    """Revoke an agency's certificate by its SHA-256 fingerprint (or a unique prefix)."""
    row = run(
        _in_transaction(lambda s, r: service.revoke_certificate(s, code, fingerprint, OPERATOR))
    )
    typer.echo(f"revoked certificate {row.fingerprint} of {code}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; say where it breaks."""
    check = run(_in_transaction(lambda s, r: verify_chain(s)))
    if check.broken_at is None:
        typer.echo(f"audit chain intact: {check.entries} entries")
        return
    typer.echo(f"audit chain BROKEN at entry {check.broken_at}: {check.reason}", err=True)
    raise typer.Exit(1)


@hub_app.command("bench-intake")
def bench_intake_command(
    envelopes: Annotated[int, typer.Option(min=10, help="Envelopes per run.")] = 500,
    recipients: Annotated[list[int] | None, typer.Option(help="Recipients per envelope.")] = None,
    size: Annotated[int, typer.Option(help="Attachment bytes (about the package size).")] = 7_000,
    history: Annotated[
        int,
        typer.Option(
            min=0,
            help="Documents (each answered 01) the hub already holds, as after years.",
        ),
    ] = 0,
) -> None:
    """Envelopes a second one worker verifies, records and routes (throw-away hub)."""
    if history:
        typer.echo(f"each hub first given a history of {history:,} answered documents")
    typer.echo("recipients  envelopes   seconds  envelopes/s  deliveries/s"
               "  WAL KB/envelope  blocks read/envelope")  # fmt: skip
    for count in recipients or [1, 10]:
        with tempfile.TemporaryDirectory() as directory:
            result = run(bench_intake(count, envelopes, size, Path(directory), history))
        work = result.work
        typer.echo(
            f"{result.recipients:>10} {result.envelopes:>10} {result.seconds:>9.2f} "
            f"{result.per_second:>12.1f} {result.per_second * result.recipients:>13.1f} "
            f"{work.wal_kb_per_envelope:>16.1f} {work.blocks_read_per_envelope:>21.2f}"
        )


@hub_app.command("bench-baseline")
def bench_baseline_command(
    count: Annotated[int, typer.Option(min=1, help="Messages.")] = 2000,
    size: Annotated[int, typer.Option(min=1, help="Bytes per message.")] = 10_240,
) -> None:
    """Messages a second through two bare RabbitMQ hops (confirms, acks); JSON on stdout."""
    result = run(bare_pipeline(count, size))
    typer.echo(json.dumps({"messages": result.messages, "size": result.size,
                           "seconds": result.seconds, "per_s": result.per_second}))  # fmt: skip


@hub_app.command("broker-account")
def hub_broker_account(username: Annotated[str, typer.Argument(help="e.g. lienthong-hub")]) -> None:
    """Create the hub's own broker account (rights on its topology only); prints the password."""
    password = secrets.token_urlsafe(24)

    async def work() -> None:
        async with BrokerAdmin(settings()) as admin:
            await admin.ensure_vhost()
            await admin.ensure_hub_account(username, password)

    run(work())
    typer.echo(f"broker account {username} ready; password (shown once): {password}")
    typer.echo("use it in LIENTHONG_AMQP_URL=amqp://USER:PASSWORD@HOST:5672/VHOST")


@hub_app.command("publish")
def hub_publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A signed package.")],
    user: Annotated[str, typer.Option(help="The agency's broker account.")],
    password_env: Annotated[str, typer.Option(help="Variable holding its password.")],
    message_id: Annotated[str | None, typer.Option(help="Defaults to a new UUID.")] = None,
) -> None:
    """Publish a signed package to intake with an agency's account, as its adapter would."""
    password = os.environ.get(password_env)
    if not password:
        raise typer.BadParameter(f"variable {password_env} is not set", param_hint="--password-env")
    envelope_id = message_id or str(uuid.uuid4())
    run(publish_as(settings(), user, password, file.read_bytes(), envelope_id))
    typer.echo(envelope_id)


@hub_app.command("timeline")
def hub_timeline(
    envelope_id: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Where a document is: per recipient, its delivery and every status."""
    timeline = run(_in_transaction(lambda s, r: by_envelope_id(s, envelope_id)))
    if as_json:
        _echo_json(timeline.model_dump(mode="json"))
        return
    typer.echo(f"{timeline.envelope_id}: {timeline.subject} (from {timeline.sender_code})")
    for recipient in timeline.recipients:
        typer.echo(f"  {recipient.recipient_code}: {recipient.delivery_state}")
        for event in recipient.events:
            code = f" {event.status_code}" if event.status_code else ""
            detail = f" {event.description}" if event.description else ""
            at = event.at.astimezone(VIETNAM_TIME)
            typer.echo(f"    {at:%Y-%m-%d %H:%M:%S} {event.event}{code}{detail}")
