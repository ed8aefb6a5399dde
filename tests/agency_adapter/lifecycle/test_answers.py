"""Which recall or deletion a recipient's 15 or 16 closes, on the sender's side."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from agency_adapter.lifecycle.receiving import answered
from agency_adapter.models import Box, Document, Recall, RecallKind, StatusRecord

RECIPIENT = "000.04.29.H40"


def _document(*requests: tuple[str, RecallKind, str | None]) -> Document:
    """A sent document with (envelope id, kind, outcome) requests to one recipient."""
    return Document(id=uuid.uuid4(), box=Box.OUTBOX, recalls=[
        Recall(box=Box.OUTBOX, envelope_id=envelope, counterpart=RECIPIENT, kind=kind,
               outcome=outcome)
        for envelope, kind, outcome in requests
    ])  # fmt: skip


def _answer(code: str) -> StatusRecord:
    return StatusRecord(agency_code=RECIPIENT, code=code, description=code,
                        at=datetime.now(UTC))  # fmt: skip


def test_a_named_answer_closes_only_the_request_it_names() -> None:
    document = _document(("r1", RecallKind.RECALL, "replaced"), ("d1", RecallKind.DELETE, None))
    answered(document, _answer("16"), answers="r1")  # the late answer to the replaced recall
    assert [r.outcome for r in document.recalls] == ["replaced", None]
    answered(document, _answer("15"), answers="d1")
    assert [r.outcome for r in document.recalls] == ["replaced", "15"]


def test_an_unnamed_16_never_closes_a_deletion() -> None:
    document = _document(("d1", RecallKind.DELETE, None))
    answered(document, _answer("16"), answers=None)
    assert document.recalls[0].outcome is None
    answered(document, _answer("15"), answers=None)
    assert document.recalls[0].outcome == "15"


def test_another_recipients_answer_closes_nothing() -> None:
    document = _document(("r1", RecallKind.RECALL, None))
    stranger = StatusRecord(agency_code="000.05.29.H40", code="15", at=datetime.now(UTC))
    answered(document, stranger, answers="r1")
    assert document.recalls[0].outcome is None
