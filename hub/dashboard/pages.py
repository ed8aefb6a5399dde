"""The data behind each dashboard page, gathered from the dashboard's and operations' services."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.broker_admin import BrokerAdmin, BrokerAdminError
from hub.dashboard import service
from hub.dashboard.charts import Series, bars
from hub.models import AgencyCertificate
from hub.operations import service as operations
from hub.operations.payloads import MailboxRow
from hub.runtime import Runtime
from schemas.model import VIETNAM_TIME

log = logging.getLogger(__name__)


def _chart(hourly: service.Hourly) -> str:
    ticks = [hour.astimezone(VIETNAM_TIME).strftime("%H:00") for hour in hourly.hours]
    return bars(ticks, [
        Series("accepted", "accepted", hourly.accepted),
        Series("refused", "refused", hourly.refused),
        Series("delivered", "delivered", hourly.delivered),
    ])  # fmt: skip


def _alerts(mailboxes: list[MailboxRow], certificates: list[AgencyCertificate], dead: int,
            pending: int) -> list[str]:  # fmt: skip
    """What an operator should look at first, in plain words (both languages)."""
    alerts = [
        f"Hộp thư ùn tắc / stuck mailbox: {m.code} ({m.messages} chờ / waiting)"
        for m in mailboxes if m.stuck
    ]  # fmt: skip
    alerts += [
        f"Chứng thư số sắp hết hạn / certificate expiring: {c.agency.code} "
        f"{c.not_after:%Y-%m-%d}"
        for c in certificates
    ]  # fmt: skip
    if dead:
        alerts.append(f"Thư lỗi chờ xử lý / dead letters waiting: {dead}")
    if pending:
        alerts.append(f"Chưa vào được hộp thư / deliveries pending at the hub: {pending}")
    return alerts


async def _from_broker(db: AsyncSession, rt: Runtime) -> tuple[list[MailboxRow], int, str | None]:
    """Mailboxes and the intake backlog; with RabbitMQ's management API away, none, and why
    (the pages still show everything the database knows)."""
    try:
        async with BrokerAdmin(rt.settings) as admin:  # one client for both listings
            rows = await operations.mailboxes(db, rt.settings, admin=admin)
            return rows, await operations.intake_backlog(rt.settings, admin=admin), None
    except BrokerAdminError as error:
        log.warning("dashboard without broker figures: %s", error)  # details for the log only
        return [], 0, "RabbitMQ không trả lời / RabbitMQ is not answering (see the hub's log)"


async def overview(db: AsyncSession, rt: Runtime, now: datetime) -> dict[str, object]:
    hourly = await service.hourly(db, rt.settings.hub_code, now)
    mailboxes, intake, broker_error = await _from_broker(db, rt)
    pending = await operations.pending_deliveries(db)
    waiting = sum(m.messages for m in mailboxes)
    dead = await operations.count_dead_letters(db)
    certificates = await service.expiring_certificates(db, now)
    return {
        "chart": _chart(hourly),
        "totals": {"accepted": sum(hourly.accepted), "refused": sum(hourly.refused),
                   "delivered": sum(hourly.delivered)},
        "backlog": {"intake": intake, "pending": pending, "mailboxes": waiting,
                    "total": intake + pending + waiting},
        "reasons": await service.refusal_reasons(db, now),
        "alerts": _alerts(mailboxes, certificates, dead, pending),
        "error": broker_error,
    }  # fmt: skip


async def agencies(db: AsyncSession, now: datetime) -> dict[str, object]:
    return {"nodes": await service.agencies(db, now)}


async def mailboxes(db: AsyncSession, rt: Runtime) -> dict[str, object]:
    rows, intake, broker_error = await _from_broker(db, rt)
    return {"rows": rows, "intake": intake, "error": broker_error}


async def trace(db: AsyncSession, query: str) -> dict[str, object]:
    found = await operations.trace(db, query.strip()) if query.strip() else []
    return {"query": query, "results": found}


async def dead_letters(db: AsyncSession) -> dict[str, object]:
    return {"dead": await operations.dead_letters(db),
            "quarantined": await operations.quarantined(db)}  # fmt: skip


PREVIEW_CHARACTERS = 20_000


async def quarantine_entry(db: AsyncSession, ident: int) -> dict[str, object]:
    entry = await operations.quarantine_entry(db, ident)
    preview = entry.body[:PREVIEW_CHARACTERS]
    if len(entry.body) > PREVIEW_CHARACTERS:
        preview += f"\n… ({len(entry.body) - PREVIEW_CHARACTERS:,} more characters)"
    return {"entry": entry, "preview": preview}
