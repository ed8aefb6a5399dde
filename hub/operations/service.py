"""What operators ask of the hub: mailbox health, dead letters, quarantine, finding a document.

Called by the dashboard and the CLI inside their transaction; nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.broker import Broker, DeadLettered, Decision, Handler, Incoming
from hub.broker_admin import BrokerAdmin, QueueStats
from hub.errors import Conflict, InvalidRequest, NotFound
from hub.intake.consumers import IntakeWorker
from hub.models import DeadLetter, DeadLetterState, Delivery, DeliveryState
from hub.operations import repository
from hub.operations.payloads import (
    DeadLetterEntry,
    DeadLetterRow,
    MailboxRow,
    QuarantineEntry,
    QuarantineRow,
    TracedDocument,
)
from hub.runtime import Runtime, intake_context
from hub.settings import HubSettings
from hub.timeline.service import timeline
from schemas.model import VIETNAM_TIME

STUCK_AFTER_S = 300.0  # a mailbox whose oldest waiting document is older than this is stuck
LIST_LIMIT = 100
INTAKE, MAILBOX, UNKNOWN = "intake", "mailbox:", "unknown"


# --- mailboxes and queues -------------------------------------------------------------------


async def _queue_stats(
    settings: HubSettings, admin: BrokerAdmin | None, names: list[str]
) -> dict[str, QueueStats]:
    if admin is None:
        async with BrokerAdmin(settings) as own:
            return await _queue_stats(settings, own, names)
    return {stats.name: stats for stats in await admin.queue_stats(names)}


def _mailbox_row(
    health: repository.AgencyHealth, queue: str, stats: QueueStats | None, stuck_after_s: float
) -> MailboxRow:
    agency, now = health.agency, datetime.now(UTC)
    ready, unacked = (stats.messages_ready, stats.messages_unacknowledged) if stats else (0, 0)
    oldest = health.oldest_waiting_at if ready + unacked else None
    age = max((now - oldest).total_seconds(), 0.0) if oldest else None
    consumers = stats.consumers if stats else 0
    # Unacknowledged counts too: a hung adapter holds its prefetched messages unacked. A
    # mailbox RabbitMQ does not have is stuck as well: deliveries to it fail.
    waiting = ready + unacked > 0
    slow = age is not None and age > stuck_after_s
    stuck = stats is None or (waiting and (consumers == 0 or slow))
    return MailboxRow(
        code=agency.code, name=agency.name, level=agency.level, state=agency.state, queue=queue,
        queue_found=stats is not None, messages=ready, unacknowledged=unacked,
        consumers=consumers, oldest_age_s=age, last_consumed_at=health.last_consumed_at,
        stuck=stuck,
    )  # fmt: skip


async def mailboxes(
    session: AsyncSession, settings: HubSettings, *, admin: BrokerAdmin | None = None,
    stuck_after_s: float = STUCK_AFTER_S,
) -> list[MailboxRow]:  # fmt: skip
    """Every registered agency's mailbox, by agency code: messages waiting and consumers
    (RabbitMQ), oldest waiting document and last consumption (database), and whether it is
    stuck: messages wait and nobody reads them, or the oldest has waited over stuck_after_s."""
    health = await repository.agencies_health(session)
    queues = [settings.mailbox_queue(item.agency.code) for item in health]
    stats = await _queue_stats(settings, admin, queues)
    return [
        _mailbox_row(item, queue, stats.get(queue), stuck_after_s)
        for item, queue in zip(health, queues, strict=True)
    ]


async def intake_backlog(settings: HubSettings, *, admin: BrokerAdmin | None = None) -> int:
    """Messages in the intake queue, waiting or being handled by a hub worker."""
    stats = (await _queue_stats(settings, admin, [settings.intake_queue])).get(
        settings.intake_queue
    )
    return stats.messages_ready + stats.messages_unacknowledged if stats else 0


# --- dead letters ---------------------------------------------------------------------------


def _last_death(headers: dict[str, Any]) -> dict[str, Any]:
    """The newest x-death entry (RabbitMQ puts it first), or one made of x-first-death-*."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {key: headers.get(f"x-first-death-{key}") for key in ("queue", "reason", "exchange")}


def _destination(queue: str | None, settings: HubSettings) -> str:
    if queue == settings.intake_queue:
        return INTAKE
    if queue and queue.startswith(settings.mailbox_prefix) and queue != settings.mailbox_prefix:
        return MAILBOX + queue.removeprefix(settings.mailbox_prefix)
    return UNKNOWN


def _attempts(death: dict[str, Any], headers: dict[str, Any], settings: HubSettings) -> int:
    """Deliveries it got: x-death count or x-delivery-count, and for a delivery limit the
    limit's worth (a quorum queue dead-letters on the delivery after the limit)."""
    counts = [death.get("count"), headers.get("x-delivery-count")]
    if death.get("reason") == "delivery_limit":
        counts.append(settings.delivery_limit + 1)
    return max([count for count in counts if isinstance(count, int)], default=1)


def _fingerprint(letter: DeadLettered, death: dict[str, Any]) -> str:
    """The same message dying the same death: kept once however often it is redelivered."""
    facts = [hashlib.sha256(letter.body).hexdigest(), letter.message_id, death.get("queue"),
             death.get("reason"), death.get("time"), death.get("count")]  # fmt: skip
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()


def _text(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def _dead_letter_values(letter: DeadLettered, settings: HubSettings) -> dict[str, Any]:
    death = _last_death(letter.headers)
    keys = death.get("routing-keys")
    return {
        "fingerprint": _fingerprint(letter, death), "message_id": _text(letter.message_id, 128),
        "user_id": _text(letter.user_id, 128), "queue": _text(death.get("queue"), 1000),
        "exchange": _text(death.get("exchange"), 1000),
        "routing_key": _text(keys[0], 1000) if isinstance(keys, list) and keys else None,
        "reason": _text(death.get("reason"), 32), "body": letter.body, "headers": letter.headers,
        "attempts": _attempts(death, letter.headers, settings),
        "destination": _destination(_text(death.get("queue"), 1000), settings),
        "state": DeadLetterState.WAITING,
    }  # fmt: skip


async def keep(session: AsyncSession, letter: DeadLettered, settings: HubSettings) -> int | None:
    """Store a message taken from the dead-letter queue; returns its id, or None when this
    very message was kept already (redelivered after a crash between commit and ack)."""
    values = _dead_letter_values(letter, settings)
    ident = await repository.keep_dead_letter(session, values)
    if ident is not None:
        detail: dict[str, object] = {
            "dead_letter": ident,
            "queue": values["queue"],
            "reason": values["reason"],
        }
        audit.append(session, "dead-letter", "hub", _subject(letter.message_id, ident), detail)
    return ident


def _subject(message_id: str | None, ident: int) -> str:
    return message_id or f"dead-letter/{ident}"


async def dead_letters(
    session: AsyncSession, state: str | None = DeadLetterState.WAITING, limit: int = LIST_LIMIT
) -> list[DeadLetterRow]:
    """Kept dead letters in one state ('waiting', 'replayed', 'discarded'; None: all), oldest
    first."""
    rows = await repository.dead_letters(session, state, limit)
    return [DeadLetterRow.of(row, size) for row, size in rows]


async def pending_deliveries(session: AsyncSession) -> int:
    """Deliveries recorded at the hub and not yet confirmed by the broker."""
    query = select(func.count()).where(Delivery.state == DeliveryState.PENDING)
    return await session.scalar(query.select_from(Delivery)) or 0


async def count_dead_letters(session: AsyncSession, state: str = DeadLetterState.WAITING) -> int:
    query = select(func.count()).select_from(DeadLetter).where(DeadLetter.state == state)
    return await session.scalar(query) or 0


async def dead_letter(session: AsyncSession, ident: int) -> DeadLetterEntry:
    """One dead letter with its headers and body."""
    row = await repository.dead_letter(session, ident)
    if row is None:
        raise NotFound(f"no dead letter {ident}")
    return DeadLetterEntry(
        **DeadLetterRow.of(row, len(row.body)).model_dump(), exchange=row.exchange,
        user_id=row.user_id, headers=row.headers, body=row.body.decode("utf-8", "replace"),
    )  # fmt: skip


async def _undecided(session: AsyncSession, ident: int) -> DeadLetter:
    """The dead letter, locked until the transaction ends; it must still be waiting."""
    row = await repository.dead_letter(session, ident, lock=True)
    if row is None:
        raise NotFound(f"no dead letter {ident}")
    if row.state != DeadLetterState.WAITING:
        at = row.decided_at.astimezone(VIETNAM_TIME) if row.decided_at else None
        when = f" at {at:%Y-%m-%d %H:%M:%S %z}" if at else ""
        raise Conflict(f"dead letter {ident} was already {row.state} by {row.decided_by}{when}")
    return row


async def _decide(session: AsyncSession, row: DeadLetter, state: str, actor: str) -> None:
    row.state, row.decided_by, row.decided_at = state, actor, datetime.now(UTC)
    action = "dlq-replay" if state == DeadLetterState.REPLAYED else "dlq-discard"
    detail: dict[str, object] = {
        "dead_letter": row.id,
        "queue": row.queue,
        "destination": row.destination,
    }
    audit.append(session, action, actor, _subject(row.message_id, row.id), detail)
    await session.flush()


def readmission(runtime: Runtime) -> Handler:
    """The intake, run in this process, for replaying intake dead letters: RabbitMQ lets the
    hub's account publish only under its own name, while the envelope must keep its agency's
    (which RabbitMQ validated when the agency published it, and dead-lettering keeps)."""
    worker = IntakeWorker(runtime.settings, runtime.sessions, runtime.broker,
                          intake_context(runtime.settings, runtime.store))  # fmt: skip
    return worker.handle


async def _readmit(intake: Handler, row: DeadLetter) -> None:
    incoming = Incoming(row.body, row.message_id, row.user_id, delivery_count=0)
    decision = await intake(incoming)  # admitted and routed, or refused with a 02: both done
    if decision is not Decision.ACK:
        raise Conflict(
            f"dead letter {row.id}: the intake could not take it now ({decision.value}); "
            "see the hub's log and try again"
        )


async def _republish(broker: Broker, row: DeadLetter, intake: Handler | None) -> None:
    message_id = row.message_id or f"dead-letter-{row.id}"
    if row.destination.startswith(MAILBOX):
        await broker.publish_to_mailbox(row.destination.removeprefix(MAILBOX), row.body, message_id)
    elif row.destination == INTAKE and intake is not None:
        await _readmit(intake, row)
    elif row.destination == INTAKE:
        try:
            await broker.publish_to_intake(row.body, message_id, row.user_id)
        except Conflict as error:
            raise Conflict(
                f"dead letter {row.id} cannot go back to intake ({error}): give the hub's "
                "broker account the 'impersonator' tag, or have the agency send it again"
            ) from None
    else:
        raise Conflict(f"dead letter {row.id} came from '{row.queue}': nowhere to replay it to")


async def replay(
    session: AsyncSession, broker: Broker, ident: int, actor: str, *, intake: Handler | None = None
) -> DeadLetterRow:
    """Publish a waiting dead letter again where it was going (confirmed), once: the row stays
    locked until the caller commits, and a replayed letter cannot be replayed again."""
    row = await _undecided(session, ident)
    # Published while only this row is locked: the audit chain's lock, taken at the caller's
    # commit, is held for a moment, never for as long as a slow publish. A refused publish
    # decides nothing; a crash after it leaves the row waiting, and the adapter drops a
    # second copy.
    await _republish(broker, row, intake)
    await _decide(session, row, DeadLetterState.REPLAYED, actor)
    return DeadLetterRow.of(row, len(row.body))


async def discard(session: AsyncSession, ident: int, actor: str) -> DeadLetterRow:
    """Give up on a waiting dead letter; it stays in the table, marked discarded."""
    row = await _undecided(session, ident)
    await _decide(session, row, DeadLetterState.DISCARDED, actor)
    return DeadLetterRow.of(row, len(row.body))


# --- quarantine -----------------------------------------------------------------------------


async def quarantined(session: AsyncSession, limit: int = LIST_LIMIT) -> list[QuarantineRow]:
    """Refused intake messages, newest first, without their bodies."""
    rows = await repository.quarantined(session, limit)
    return [QuarantineRow.of(row, size) for row, size in rows]


async def quarantine_entry(session: AsyncSession, ident: int) -> QuarantineEntry:
    """One refused message with its body."""
    row = await repository.quarantine(session, ident)
    if row is None:
        raise NotFound(f"no quarantined message {ident}")
    return QuarantineEntry.full(row)


# --- tracing a document ---------------------------------------------------------------------


async def trace(session: AsyncSession, text: str, limit: int = 50) -> list[TracedDocument]:
    """Documents whose envelope id, DocumentId, sender or a recipient is `text`, or whose
    subject or number/notation (e.g. '12/QĐ-UBND') contains it; newest first, each with its
    timeline per recipient."""
    wanted = text.strip()
    if not wanted:
        raise InvalidRequest("say what to look for: an envelope id, DocumentId, agency code, "
                             "number/notation or words of the subject")  # fmt: skip
    found = []
    for document in await repository.find_documents(session, wanted, limit):
        line = await timeline(session, document)
        found.append(TracedDocument(
            **line.model_dump(), kind=document.kind, code_number=document.code_number,
            code_notation=document.code_notation,
        ))  # fmt: skip
    return found
