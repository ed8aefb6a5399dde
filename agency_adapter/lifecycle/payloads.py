"""What local systems send to recall, delete or revise a document, and what they read back."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from agency_adapter.documents.payloads import AgencyCodes, AttachmentIn, CodeIn, Strict

Reason = Field(min_length=1, max_length=1000)


class RecallIn(Strict):
    """Recall (thu hồi) or delete-on-mistake: why, and from whom (every recipient if omitted)."""

    reason: str = Reason
    recipients: AgencyCodes | None = Field(default=None, min_length=1)


class DecisionIn(Strict):
    """A recipient's answer to a recall of a document it already accepted."""

    agree: bool
    reason: str | None = Field(default=None, max_length=1000)


class RevisionIn(Strict):
    """A new version of a sent document: what changes; everything not given stays as it was.

    `attachments`, when given, replace the files (an empty list removes them all)."""

    kind: Literal["update", "replace"]
    reason: str = Reason
    subject: str | None = Field(default=None, min_length=1)
    content: str | None = None
    code: CodeIn | None = None
    due_date: date | None = None
    priority: int | None = Field(default=None, ge=0, le=4)
    attachments: list[AttachmentIn] | None = None
    add_recipients: AgencyCodes = Field(default_factory=list)
    remove_recipients: AgencyCodes = Field(default_factory=list)
