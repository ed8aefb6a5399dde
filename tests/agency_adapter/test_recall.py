"""Recall (thu hồi): the sender takes a document back; each recipient answers 15 or 16."""

from __future__ import annotations

from hub.db import transaction
from hub.directory.service import set_state
from hub.models import AgencyState
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.codes import COMMUNE, COMMUNE_B
from tests.agency_adapter.conftest import District
from tests.agency_adapter.documents import act, answered, decision, send, sent_and_queued, show

WRONG_FIGURES = "Sai số liệu phân bổ"


async def test_a_recall_before_the_recipient_adapter_took_the_document(district: District) -> None:
    sent = await sent_and_queued(district.hub, district.adapter, decision(COMMUNE))
    recalled = await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
    assert recalled.status_code == 202, recalled.text
    (line,) = recalled.json()["recipient_timelines"]
    assert line["state"] == "recall-requested" and line["recall"]["outcome"] is None
    async with district.commune(COMMUNE) as commune:  # it was stopped until now
        line = await answered(district.adapter, sent, COMMUNE, count=2)
        asked = await commune.client.get("/v1/documents", params={"status": "withdrawn"})
        (withdrawn,) = asked.json()["items"]
        mine = await show(commune, withdrawn["id"])
        assert mine["recall"]["outcome"] == "15" and mine["recall"]["reason"] == WRONG_FIGURES
        assert await commune.events() == []  # withdrawn before it was ever announced
    # Both answers, in either order: the commune sent them a moment apart, and the hub admits
    # intake messages side by side, so the later may be routed first.
    assert sorted(s["code"] for s in line["statuses"]) == ["01", "15"]
    assert line["state"] == "recalled" and line["recall"]["outcome"] == "15"


async def test_a_stored_document_not_yet_accepted_is_withdrawn_at_once(district: District) -> None:
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        (received,) = await commune.wait_for("document.received")
        await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
        (recalled,) = await commune.wait_for("document.recalled")
        assert recalled["document"] == received["document"]
        inbox = (await commune.client.get("/v1/documents")).json()["items"]
        assert inbox == []  # gone from the clerk's list...
        asked = await commune.client.get("/v1/documents", params={"status": "withdrawn"})
        assert [d["id"] for d in asked.json()["items"]] == [received["document"]]  # ...not lost
        line = await answered(district.adapter, sent, COMMUNE, count=2)
    assert line["state"] == "recalled"


async def _accepted(district: District, commune_code: str, commune: Adapter) -> tuple[str, str]:
    """A decision sent to one commune and accepted (03) there: (sender's id, recipient's id)."""
    sent = await send(district.adapter, decision(commune_code))
    (received,) = await commune.wait_for("document.received")
    registered = await act(commune, received["document"], "status", {"code": "03"})
    assert registered.status_code == 202, registered.text
    await answered(district.adapter, sent, commune_code, count=2)
    return sent, received["document"]


async def test_an_accepted_document_waits_for_its_local_system_to_agree(district: District) -> None:
    async with district.commune(COMMUNE) as commune:
        sent, held = await _accepted(district, COMMUNE, commune)
        await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
        (asked,) = await commune.wait_for("document.recall-requested")
        assert asked["document"] == held and asked["payload"]["reason"] == WRONG_FIGURES
        waiting = await show(commune, held)
        assert waiting["state"] == "accepted" and waiting["recall"]["outcome"] is None
        agreed = await act(commune, held, "recall-decision", {"agree": True})
        assert agreed.status_code == 202 and agreed.json()["state"] == "withdrawn"
        line = await answered(district.adapter, sent, COMMUNE, count=3)
    assert [s["code"] for s in line["statuses"]] == ["01", "03", "15"]
    assert line["state"] == "recalled"


async def test_a_refused_recall_leaves_the_document_and_may_be_asked_again(
    district: District,
) -> None:
    async with district.commune(COMMUNE) as commune:
        sent, held = await _accepted(district, COMMUNE, commune)
        await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
        await commune.wait_for("document.recall-requested")
        twice = await act(district.adapter, sent, "recall", {"reason": "again"})
        assert twice.status_code == 409 and "still waiting for its answer" in twice.text
        refused = await act(commune, held, "recall-decision",
                            {"agree": False, "reason": "Đã triển khai"})  # fmt: skip
        assert refused.status_code == 202 and refused.json()["state"] == "accepted"
        line = await answered(district.adapter, sent, COMMUNE, count=3)
        assert line["state"] == "accepted" and line["recall"]["outcome"] == "16"
        assert line["recall"]["outcome_note"] == "Đã triển khai"
        again = await act(district.adapter, sent, "recall", {"reason": "Lần hai"})
        assert again.status_code == 202, again.text
        await commune.wait_for("document.recall-requested", count=2)
        await act(commune, held, "recall-decision", {"agree": True})
        line = await answered(district.adapter, sent, COMMUNE, count=4)
        assert line["state"] == "recalled"
        thrice = await act(district.adapter, sent, "recall", {"reason": "again"})
        assert thrice.status_code == 409 and "already recalled" in thrice.text
        none_waiting = await act(commune, held, "recall-decision", {"agree": True})
        assert none_waiting.status_code == 409 and "waiting for a decision" in none_waiting.text


async def test_a_recall_of_one_recipient_among_several(district: District) -> None:
    async with district.commune(COMMUNE) as first, district.commune(COMMUNE_B) as second:
        sent = await send(district.adapter, decision(COMMUNE, COMMUNE_B))
        await first.wait_for("document.received")
        (kept,) = await second.wait_for("document.received")
        await answered(district.adapter, sent, COMMUNE_B, count=1)
        only = await act(district.adapter, sent, "recall",
                         {"reason": WRONG_FIGURES, "recipients": [COMMUNE]})  # fmt: skip
        assert only.status_code == 202, only.text
        await first.wait_for("document.recalled")
        line = await answered(district.adapter, sent, COMMUNE, count=2)
        assert line["state"] == "recalled"
        assert (await show(second, kept["document"]))["state"] == "received"
        assert [e["type"] for e in await second.events()] == ["document.received"]
    other = (await show(district.adapter, sent))["recipient_timelines"]
    assert {r["agency_code"]: r["state"] for r in other} == {
        COMMUNE: "recalled",
        COMMUNE_B: "arrived",
    }


async def test_only_the_sender_recalls_and_only_from_its_recipients(district: District) -> None:
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        (received,) = await commune.wait_for("document.received")
        by_recipient = await act(commune, received["document"], "recall", {"reason": "x"})
        assert by_recipient.status_code == 409 and "report status 02" in by_recipient.text
        stranger = await act(district.adapter, sent, "recall",
                             {"reason": "x", "recipients": [COMMUNE_B]})  # fmt: skip
        assert stranger.status_code == 422 and "did not receive this document" in stranger.text
        no_reason = await act(district.adapter, sent, "recall", {"reason": ""})
        assert no_reason.status_code == 422
        returned = await act(commune, received["document"], "status",
                             {"code": "02", "description": "Gửi nhầm đơn vị"})  # fmt: skip
        assert returned.status_code == 202
        line = await answered(district.adapter, sent, COMMUNE, count=2)
    assert line["state"] == "refused" and line["statuses"][-1]["description"] == "Gửi nhầm đơn vị"


async def _set_state(district: District, code: str, state: AgencyState) -> None:
    async with transaction(district.hub.runtime.sessions) as session:
        await set_state(session, code, state, "test")


async def test_a_recall_the_hub_refuses_is_closed_and_may_be_asked_again(
    district: District,
) -> None:
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        await commune.wait_for("document.received")
        await answered(district.adapter, sent, COMMUNE, count=1)
        await _set_state(district, COMMUNE, AgencyState.SUSPENDED)
        await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
        (refusal,) = [
            e for e in await district.adapter.wait_for("status.received", count=2)
            if e["payload"]["code"] == "02"
        ]  # fmt: skip
        assert "suspended recipient" in refusal["payload"]["description"]
        line = await answered(district.adapter, sent, COMMUNE, count=1)
        assert line["recall"]["outcome"] == "02" and line["state"] == "arrived"
        await _set_state(district, COMMUNE, AgencyState.ACTIVE)
        again = await act(district.adapter, sent, "recall", {"reason": WRONG_FIGURES})
        assert again.status_code == 202, again.text
        await commune.wait_for("document.recalled")
        line = await answered(district.adapter, sent, COMMUNE, count=2)
    assert line["state"] == "recalled"
