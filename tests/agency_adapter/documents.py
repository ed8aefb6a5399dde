"""Small steps a local system takes, shared by the adapter tests."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.attachment_exchange import delivered_by_hub
from tests.hub.hub_stack import HubStack

PDF = b"%PDF-1.4 quyet dinh phan bo kinh phi"


def decision(*to: str, subject: str = "V/v phân bổ kinh phí năm 2027") -> dict[str, object]:
    """A district's decision with one attached file, to the given communes."""
    return {
        "to": list(to), "subject": subject, "content": "Kính gửi UBND các xã",
        "code": {"number": "412", "notation": "QĐ-UBND"},
        "attachments": [{"name": "quyet-dinh.pdf", "content_type": "application/pdf",
                         "content_base64": base64.b64encode(PDF).decode()}],
    }  # fmt: skip


async def send(adapter: Adapter, document: dict[str, object]) -> str:
    answer = await adapter.client.post("/v1/documents", json=document)
    assert answer.status_code == 202, answer.text
    identifier: str = answer.json()["id"]
    return identifier


async def show(adapter: Adapter, document: str) -> dict[str, Any]:
    answer = await adapter.client.get(f"/v1/documents/{document}")
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


async def act(adapter: Adapter, document: str, action: str, body: dict[str, object]) -> Any:
    """POST to /v1/documents/{id}/{action}; the answer as it came."""
    return await adapter.client.post(f"/v1/documents/{document}/{action}", json=body)


async def recipient_state(adapter: Adapter, document: str, code: str) -> dict[str, Any]:
    """One recipient's line in the sender's view of a document."""
    lines = (await show(adapter, document))["recipient_timelines"]
    line: dict[str, Any] = next(line for line in lines if line["agency_code"] == code)
    return line


async def answered(adapter: Adapter, document: str, code: str, count: int) -> dict[str, Any]:
    """The sender's view of one recipient once `count` statuses came back from it."""
    for _ in range(200):
        line = await recipient_state(adapter, document, code)
        if len(line["statuses"]) >= count:
            return line
        await asyncio.sleep(0.1)
    return line


async def sent_and_queued(hub: HubStack, adapter: Adapter, document: dict[str, object]) -> str:
    """Send a document to one recipient and wait until it is in that recipient's mailbox (a
    recall or deletion admitted before that would cancel it at the hub instead)."""
    sent = await send(adapter, document)
    await delivered_by_hub(hub, (await show(adapter, sent))["document_id"])
    return sent
