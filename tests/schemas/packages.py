"""Small factories of package models for tests."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

from schemas.model import (
    VIETNAM_TIME,
    Attachment,
    Code,
    DocumentPackage,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    StatusCode,
    StatusPackage,
    TraceHeader,
)

PROVINCE = "000.00.00.H40"
DISTRICT = "000.00.05.H40"
COMMUNE = "000.12.05.H40"


def organization(code: str = COMMUNE, name: str = "UBND xã Hải Hà") -> Organization:
    return Organization(organ_id=code, organ_name=name)


def attachment(name: str = "quyet-dinh.pdf", size: int = 2048, **fields: Any) -> Attachment:
    defaults: dict[str, Any] = {
        "content_id": f"{name}-id",
        "name": name,
        "content_type": "application/pdf",
        "content": os.urandom(size),
    }
    return Attachment(**(defaults | fields))


def document(**fields: Any) -> DocumentPackage:
    defaults: dict[str, Any] = {
        "sender": organization(COMMUNE),
        "recipients": (organization(DISTRICT, "UBND huyện Hải Hậu"),),
        "document_id": "000.12.05.H40,2026/11/26,15/UBND-VP",
        "code": Code(code_number="15", code_notation="UBND-VP"),
        "promulgation": PromulgationInfo(place="Hải Hà", promulgation_date=date(2026, 11, 26)),
        "subject": "V/v báo cáo tình hình thu hoạch lúa mùa",
        "content": "Kính gửi UBND huyện Hải Hậu",
        "due_date": date(2026, 12, 5),
        "other_info": OtherInfo(priority=Priority.URGENT, page_amount=2),
        "trace": (
            TraceHeader(
                organ_id=COMMUNE, timestamp=datetime(2026, 11, 26, 9, 30, tzinfo=VIETNAM_TIME)
            ),
        ),
        "attachments": (attachment(),),
    }
    return DocumentPackage(**(defaults | fields))


def status(code: StatusCode = StatusCode.ACCEPTED, **fields: Any) -> StatusPackage:
    defaults: dict[str, Any] = {
        "sender": organization(DISTRICT, "UBND huyện Hải Hậu"),
        "response_for": ResponseFor(
            organ_id=COMMUNE, document_id="000.12.05.H40,2026/11/26,15/UBND-VP"
        ),
        "status_code": code,
        "description": "Văn thư đã vào sổ",
        "timestamp": datetime(2026, 11, 26, 10, 0, tzinfo=VIETNAM_TIME),
    }
    return StatusPackage(**(defaults | fields))
