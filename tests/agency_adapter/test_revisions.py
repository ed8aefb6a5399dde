"""Update and replace: a new version linked to the original, which stays readable and is
marked superseded; recipients answer 15 or 16; added ones get it, removed ones a recall."""

from __future__ import annotations

import base64

from tests.agency_adapter.codes import COMMUNE, COMMUNE_B
from tests.agency_adapter.conftest import District
from tests.agency_adapter.documents import PDF, act, answered, decision, send, show

ANNEX = b"%PDF-1.4 phu luc sua doi"


def _update(**changes: object) -> dict[str, object]:
    return {"kind": "update", "reason": "Sửa số liệu phụ lục", **changes}


async def test_an_update_with_new_files_and_an_added_recipient(district: District) -> None:
    async with district.commune(COMMUNE) as first, district.commune(COMMUNE_B) as added:
        sent = await send(district.adapter, decision(COMMUNE))
        (original,) = await first.wait_for("document.received")
        annex = {"name": "phu-luc.pdf", "content_type": "application/pdf",
                 "content_base64": base64.b64encode(ANNEX).decode()}  # fmt: skip
        revised = await act(district.adapter, sent, "revisions", _update(
            subject="V/v phân bổ kinh phí năm 2027 (sửa đổi)", attachments=[annex],
            add_recipients=[COMMUNE_B],
        ))  # fmt: skip
        assert revised.status_code == 202, revised.text
        newer = revised.json()["id"]
        (version,) = [e for e in await first.wait_for("document.received", count=2)
                      if e["document"] != original["document"]]  # fmt: skip
        assert version["payload"]["kind"] == "update"
        assert version["payload"]["supersedes"] == original["document"]
        old = await show(first, original["document"])
        assert old["superseded_by"] == version["document"] and old["state"] == "received"
        still = await first.client.get(f"/v1/documents/{original['document']}/attachments/1")
        assert still.content == PDF  # the original stays readable
        new = await show(first, version["document"])
        assert (new["kind"], new["supersedes"]) == ("update", original["document"])
        assert [a["name"] for a in new["attachments"]] == ["phu-luc.pdf"]
        (for_b,) = await added.wait_for("document.received")
        assert for_b["payload"]["supersedes"] is None  # B never had the original
        assert (await act(first, version["document"], "status", {"code": "15"})).status_code == 202
        refused = await act(added, for_b["document"], "status", {"code": "16", "description": "x"})
        assert refused.status_code == 202
        after_16 = await act(added, for_b["document"], "status", {"code": "03"})
        assert after_16.status_code == 409
        registered = await act(first, version["document"], "status", {"code": "03"})
        assert registered.status_code == 202, registered.text
        line_a = await answered(district.adapter, newer, COMMUNE, count=3)
        line_b = await answered(district.adapter, newer, COMMUNE_B, count=2)
    assert (line_a["state"], line_b["state"]) == ("accepted", "change-refused")
    mine = await show(district.adapter, sent)
    assert mine["superseded_by"] == newer
    assert (await show(district.adapter, newer))["supersedes"] == sent


async def test_a_replacement_recalls_the_original_from_a_removed_recipient(
    district: District,
) -> None:
    async with district.commune(COMMUNE) as kept, district.commune(COMMUNE_B) as removed:
        sent = await send(district.adapter, decision(COMMUNE, COMMUNE_B))
        await kept.wait_for("document.received")
        await removed.wait_for("document.received")
        replaced = await act(district.adapter, sent, "revisions", {
            "kind": "replace", "reason": "Thay thế quyết định 412", "content": "Nội dung mới",
            "remove_recipients": [COMMUNE_B],
        })  # fmt: skip
        assert replaced.status_code == 202, replaced.text
        events = await kept.wait_for("document.received", count=2)
        assert events[-1]["payload"]["kind"] == "replace"
        assert (await show(kept, events[-1]["document"]))["content"] == "Nội dung mới"
        (recalled,) = await removed.wait_for("document.recalled")
        assert "removed from the recipients" in recalled["payload"]["reason"]
        assert [e["type"] for e in await removed.events()] == [
            "document.received", "document.recalled",
        ]  # fmt: skip
        line = await answered(district.adapter, sent, COMMUNE_B, count=2)
    assert line["state"] == "recalled"
    newer = await show(district.adapter, replaced.json()["id"])
    assert newer["recipients"] == [COMMUNE] and newer["kind"] == "replace"


async def test_revisions_that_make_no_sense_are_refused(district: District) -> None:
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        (received,) = await commune.wait_for("document.received")
        by_recipient = await act(commune, received["document"], "revisions", _update())
        assert by_recipient.status_code == 409 and "only the sender" in by_recipient.text
    stranger = await act(
        district.adapter, sent, "revisions", _update(remove_recipients=[COMMUNE_B])
    )
    assert stranger.status_code == 422 and "not a recipient" in stranger.text
    nobody = await act(district.adapter, sent, "revisions", _update(remove_recipients=[COMMUNE]))
    assert nobody.status_code == 422 and "no recipient left" in nobody.text
    bad_kind = await act(district.adapter, sent, "revisions", {"kind": "rewrite", "reason": "x"})
    assert bad_kind.status_code == 422
    first = await act(district.adapter, sent, "revisions", _update(content="v2"))
    assert first.status_code == 202
    stale = await act(district.adapter, sent, "revisions", _update(content="v3"))
    assert stale.status_code == 409 and first.json()["id"] in stale.text


async def test_a_deletion_purges_every_version_and_ends_revising(district: District) -> None:
    """The update carries the original's files: deleting it purges both versions."""
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        await commune.wait_for("document.received")
        updated = await act(district.adapter, sent, "revisions", _update(content="v2"))
        assert updated.status_code == 202, updated.text
        versions = await commune.wait_for("document.received", count=2)
        newer = updated.json()["id"]
        deleted = await act(district.adapter, newer, "delete", {"reason": "Gửi nhầm"})
        assert deleted.status_code == 202, deleted.text
        told = await commune.wait_for("document.deleted", count=2)
        assert {e["document"] for e in told} == {e["document"] for e in versions}
        for version in versions:
            shown = await show(commune, version["document"])
            assert shown["state"] == "deleted" and shown["attachments"] == []
        again = await act(district.adapter, newer, "revisions", _update(content="v3"))
    assert again.status_code == 409 and "deleted on mistake" in again.text
