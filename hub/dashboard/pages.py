"""The data behind each dashboard page, gathered from the dashboard's and operations' services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.dashboard import service
from hub.dashboard.charts import Series, bars
from hub.operations import service as operations
from hub.runtime import Runtime
from schemas.model import VIETNAM_TIME


def _chart(hourly: service.Hourly) -> str:
    ticks = [hour.astimezone(VIETNAM_TIME).strftime("%H:00") for hour in hourly.hours]
    return bars(ticks, [
        Series("accepted", "accepted", hourly.accepted),
        Series("refused", "refused", hourly.refused),
        Series("delivered", "delivered", hourly.delivered),
    ])  # fmt: skip


def _alerts(mailboxes: list[Any], certificates: list[Any], dead: int, pending: int) -> list[str]:
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


async def overview(db: AsyncSession, rt: Runtime, now: datetime) -> dict[str, object]:
    hourly = await service.hourly(db, rt.settings.hub_code, now)
    mailboxes = await operations.mailboxes(db, rt.settings)
    pending = await service.pending_deliveries(db)
    intake = await operations.intake_backlog(rt.settings)
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
    }  # fmt: skip


async def agencies(db: AsyncSession, now: datetime) -> dict[str, object]:
    return {"nodes": await service.agencies(db, now)}


async def mailboxes(db: AsyncSession, rt: Runtime) -> dict[str, object]:
    rows = await operations.mailboxes(db, rt.settings)
    return {"rows": rows, "intake": await operations.intake_backlog(rt.settings)}


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
