"""Operations results as an operator reads them in a terminal (the CLI's --json gives data)."""

from __future__ import annotations

from datetime import datetime

from hub.operations.payloads import (
    DeadLetterEntry,
    DeadLetterRow,
    MailboxRow,
    QuarantineEntry,
    QuarantineRow,
    TracedDocument,
)
from hub.timeline.payloads import RecipientTimeline
from schemas.model import VIETNAM_TIME

MINUTE, HOUR, DAY = 60, 3600, 86400
NAME_WIDTH = 48


def when(at: datetime | None) -> str:
    """A moment in the hub's time zone (Asia/Ho_Chi_Minh), or '-'."""
    return at.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def age(seconds: float | None) -> str:
    """'45s', '12m', '3h05m', '2d04h', or '-'."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < MINUTE:
        return f"{whole}s"
    if whole < HOUR:
        return f"{whole // MINUTE}m"
    if whole < DAY:
        return f"{whole // HOUR}h{whole % HOUR // MINUTE:02d}m"
    return f"{whole // DAY}d{whole % DAY // HOUR:02d}h"


def _flag(row: MailboxRow) -> str:
    if row.stuck:
        return "STUCK"
    if not row.queue_found:
        return "NO-QUEUE"
    return "" if row.state == "active" else row.state.upper()


def mailbox_lines(rows: list[MailboxRow]) -> list[str]:
    """A table, stuck mailboxes first, then by agency code."""
    header = (
        f"{'':<9}{'AGENCY':<18}{'WAITING':>8}{'READERS':>9}{'OLDEST':>8}  {'LAST READ':<20}NAME"
    )
    ordered = sorted(rows, key=lambda row: (not row.stuck, row.code))
    return [header] + [
        f"{_flag(r):<9}{r.code:<18}{r.messages:>8}{r.consumers:>9}{age(r.oldest_age_s):>8}  "
        f"{when(r.last_consumed_at):<20}{r.name[:NAME_WIDTH]}"
        for r in ordered
    ]


def mailbox_summary(rows: list[MailboxRow], intake: int, dead_letters: int) -> str:
    stuck = sum(row.stuck for row in rows)
    waiting = sum(row.messages for row in rows)
    tail = " (lienthong dlq list)" if dead_letters else ""
    return (
        f"{len(rows)} mailboxes, {stuck} stuck, {waiting} messages waiting; "
        f"intake backlog {intake}; dead letters waiting {dead_letters}{tail}"
    )


def _destination(destination: str) -> str:
    return destination.replace(":", " ", 1)


def dead_letter_lines(rows: list[DeadLetterRow]) -> list[str]:
    header = (
        f"{'ID':>6}  {'RECEIVED':<20}{'STATE':<10}{'REASON':<16}{'TRIES':>5}  "
        f"{'GOES TO':<32}MESSAGE ID"
    )
    return [header] + [
        f"{r.id:>6}  {when(r.received_at):<20}{r.state:<10}{r.reason or '-':<16}{r.attempts:>5}  "
        f"{_destination(r.destination):<32}{r.message_id or '-'}"
        for r in rows
    ]


def dead_letter_detail(entry: DeadLetterEntry) -> list[str]:
    decided = f" by {entry.decided_by} at {when(entry.decided_at)}" if entry.decided_by else ""
    return [
        f"dead letter {entry.id}: {entry.state}{decided}",
        f"  message id   {entry.message_id or '-'}",
        f"  died in      {entry.queue or '-'} ({entry.reason or '?'}, tries: {entry.attempts})",
        f"  goes back to {_destination(entry.destination)}",
        f"  received     {when(entry.received_at)}",
        f"  size         {entry.size} bytes",
        "", entry.body,
    ]  # fmt: skip


def quarantine_lines(rows: list[QuarantineRow]) -> list[str]:
    header = f"{'ID':>6}  {'RECEIVED':<20}{'SENDER':<24}REASON"
    return [header] + [
        f"{r.id:>6}  {when(r.received_at):<20}{r.sender_code or r.broker_user or '-':<24}{r.reason}"
        for r in rows
    ]


def quarantine_detail(entry: QuarantineEntry) -> list[str]:
    return [
        f"quarantined message {entry.id}, received {when(entry.received_at)}",
        f"  reason        {entry.reason}",
        f"  sender        {entry.sender_code or '-'} (broker account {entry.broker_user or '-'})",
        f"  message id    {entry.message_id or '-'}",
        f"  refusal (02)  {entry.refusal_envelope_id or 'none sent: the sender is unknown'}",
        f"  size, sha256  {entry.size} bytes, {entry.sha256}",
        "", entry.body,
    ]  # fmt: skip


def _recipient_lines(line: RecipientTimeline) -> list[str]:
    status = f", last status {line.last_status}" if line.last_status else ""
    lines = [f"    {line.recipient_code}: {line.delivery_state}{status}"]
    for event in line.events:
        code = f" {event.status_code}" if event.status_code else ""
        detail = f" {event.description}" if event.description else ""
        lines.append(f"      {when(event.at)} {event.event}{code}{detail}")
    return lines


def document_lines(document: TracedDocument) -> list[str]:
    number = "/".join(p for p in (document.code_number, document.code_notation) if p)
    lines = [
        f"{document.envelope_id}  {number or '(no number)'}  {document.subject or '(no subject)'}",
        f"  from {document.sender_code}, received {when(document.received_at)}, "
        f"DocumentId {document.document_id or '-'}",
    ]
    for recipient in document.recipients:
        lines += _recipient_lines(recipient)
    return lines
