"""A commune sends a signed document to its district through the hub, and statuses come back."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from hub.models import AgencyLevel
from schemas.model import Organization
from schemas.writer import write_package
from tests.agency_adapter.adapter_stack import Adapter, adapter_settings, running_adapter
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.hub.hub_stack import HubStack, hub_stack
from tests.schemas.packages import document as make_document
from tests.services import temporary_database

PDF = b"%PDF-1.4 bao cao thu hoach lua mua"


def new_document() -> dict[str, object]:
    return {
        "to": [DISTRICT],
        "subject": "V/v báo cáo tình hình thu hoạch lúa mùa",
        "content": "Kính gửi UBND huyện Hải Hậu",
        "code": {"number": "15", "notation": "UBND-VP"},
        "due_date": "2026-12-05",
        "priority": 1,
        "attachments": [{"name": "bao-cao.pdf", "content_type": "application/pdf",
                         "content_base64": base64.b64encode(PDF).decode()}],
    }  # fmt: skip


async def test_a_document_and_its_statuses_make_the_round_trip(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, district = pair
    sent = await commune.client.post("/v1/documents", json=new_document())
    assert sent.status_code == 202, sent.text
    (received,) = await district.wait_for("document.received")
    assert received["payload"]["sender"] == COMMUNE
    inbox = (await district.client.get("/v1/documents", params={"box": "inbox"})).json()["items"]
    assert [d["subject"] for d in inbox] == ["V/v báo cáo tình hình thu hoạch lúa mùa"]
    document = (await district.client.get(f"/v1/documents/{received['document']}")).json()
    assert document["attachments"] == [
        {"index": 1, "name": "bao-cao.pdf", "content_type": "application/pdf", "size": len(PDF)}
    ]
    file = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
    assert file.content == PDF
    (arrived,) = await commune.wait_for("status.received")
    assert (arrived["payload"]["from"], arrived["payload"]["code"]) == (DISTRICT, "01")
    status_url = f"/v1/documents/{received['document']}/status"
    accepted = await district.client.post(
        status_url, json={"code": "03", "description": "Đã vào sổ"}
    )
    assert accepted.status_code == 202, accepted.text
    statuses = await commune.wait_for("status.received", count=2)
    assert [s["payload"]["code"] for s in statuses] == ["01", "03"]
    mine = (await commune.client.get(f"/v1/documents/{sent.json()['id']}")).json()
    assert mine["state"] == "sent" and [s["code"] for s in mine["statuses"]] == ["01", "03"]
    (district_line,) = mine["recipient_timelines"]
    assert (district_line["agency_code"], district_line["state"]) == (DISTRICT, "accepted")


async def test_the_standard_flow_is_enforced_and_bad_input_explained(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, district = pair
    await commune.client.post("/v1/documents", json=new_document())
    (received,) = await district.wait_for("document.received")
    too_early = await district.client.post(
        f"/v1/documents/{received['document']}/status", json={"code": "06"}
    )
    assert too_early.status_code == 409 and "cannot move to status 06" in too_early.json()["detail"]
    bad = await commune.client.post("/v1/documents", json={"to": ["not a code!"], "subject": ""})
    assert bad.status_code == 422
    fields = {".".join(map(str, e["loc"])) for e in bad.json()["detail"]}
    assert {"body.to", "body.subject"} <= fields
    anonymous = await commune.client.get("/v1/documents", headers={"Authorization": "Bearer wrong"})
    assert anonymous.status_code == 401


async def test_multipart_and_ready_packages_are_accepted_too(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, district = pair
    metadata = {"to": [DISTRICT], "subject": "V/v gửi kèm tệp"}
    multipart = await commune.client.post(
        "/v1/documents", data={"metadata": json.dumps(metadata)},
        files=[("files", ("to-trinh.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert multipart.status_code == 202, multipart.text
    package = write_package(make_document(
        sender=Organization(organ_id=COMMUNE), recipients=(Organization(organ_id=DISTRICT),),
        subject="V/v gói edXML có sẵn",
    ))  # fmt: skip
    ready = await commune.client.post("/v1/documents", content=package,
                                      headers={"Content-Type": "application/xml"})  # fmt: skip
    assert ready.status_code == 202, ready.text
    received = await district.wait_for("document.received", count=2)
    subjects = sorted(e["payload"]["subject"] for e in received)
    assert subjects == ["V/v gói edXML có sẵn", "V/v gửi kèm tệp"]
    by_subject = {e["payload"]["subject"]: e["document"] for e in received}
    shown = (await district.client.get(f"/v1/documents/{by_subject['V/v gửi kèm tệp']}")).json()
    assert [(a["name"], a["size"]) for a in shown["attachments"]] == [("to-trinh.pdf", len(PDF))]


async def test_oversized_and_foreign_submissions_are_refused(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, _ = pair
    limit = commune.runtime.ctx.settings.max_document_bytes
    huge = await commune.client.post("/v1/documents", content=b"x" * (limit + 1),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    assert huge.status_code == 413 and "above the limit" in huge.json()["detail"]
    foreign = write_package(make_document(sender=Organization(organ_id=DISTRICT)))
    refused = await commune.client.post("/v1/documents", content=foreign,
                                        headers={"Content-Type": "application/xml"})  # fmt: skip
    assert refused.status_code == 422 and "this adapter sends for" in refused.json()["detail"]
    garbage = await commune.client.post("/v1/documents", content=b"<edXML",
                                        headers={"Content-Type": "application/xml"})  # fmt: skip
    assert garbage.status_code == 422 and "cannot be read" in garbage.json()["detail"]


async def test_the_openapi_document_describes_every_route(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, _ = pair
    spec = (await commune.client.get("/openapi.json")).json()
    lifecycle = {f"/v1/documents/{{document_id}}/{action}"
                 for action in ("recall", "delete", "recall-decision", "revisions")}  # fmt: skip
    assert {"/v1/documents", "/v1/documents/{document_id}/status", "/v1/events",
            *lifecycle} <= set(spec["paths"])  # fmt: skip
    body = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data", "application/xml"}
    assert "to" in spec["components"]["schemas"]["DocumentIn"]["properties"]
    assert "AttachmentIn" in spec["components"]["schemas"]


async def test_the_inbox_is_ordered_by_deadline_searchable_and_paged(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, district = pair
    for subject, due, priority in (("Báo cáo A", "2026-12-20", 0), ("Khẩn B", "2026-12-01", 3),
                                   ("Thường C", None, 0), ("Gấp D", "2026-12-01", 1)):  # fmt: skip
        body = {"to": [DISTRICT], "subject": subject, "due_date": due, "priority": priority}
        assert (await commune.client.post("/v1/documents", json=body)).status_code == 202
    await district.wait_for("document.received", count=4)
    first = (await district.client.get("/v1/documents", params={"limit": 2})).json()
    second = (
        await district.client.get(
            "/v1/documents", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    order = [d["subject"] for d in first["items"] + second["items"]]
    assert order == ["Khẩn B", "Gấp D", "Báo cáo A", "Thường C"] and second["next_cursor"] is None
    found = (await district.client.get("/v1/documents", params={"q": "khẩn"})).json()["items"]
    assert [d["subject"] for d in found] == ["Khẩn B"]
    by_sender = await district.client.get(
        "/v1/documents", params={"sender": COMMUNE, "sort": "oldest"}
    )
    items = by_sender.json()["items"]
    assert sorted(d["subject"] for d in items) == ["Báo cáo A", "Gấp D", "Khẩn B", "Thường C"]
    assert [d["created_at"] for d in items] == sorted(d["created_at"] for d in items)
    received = await district.client.get("/v1/documents", params={"status": "received"})
    assert len(received.json()["items"]) == 4
    bad = await district.client.get("/v1/documents", params={"cursor": "nonsense!"})
    assert bad.status_code == 422


async def test_on_postgresql_too_and_with_the_package_and_health(tmp_path: Path) -> None:
    """The same round trip with the district's store on PostgreSQL instead of SQLite."""
    async with hub_stack(tmp_path / "hub") as hub, temporary_database() as dsn:
        district = await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        commune = await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        on_postgres = adapter_settings(hub, district, tmp_path).model_copy(
            update={"database_url": dsn.replace("postgresql://", "postgresql+asyncpg://")}
        )
        async with (
            hub.worker(),
            running_adapter(on_postgres) as district_adapter,
            running_adapter(adapter_settings(hub, commune, tmp_path)) as commune_adapter,
        ):
            assert (await district_adapter.client.get("/readyz")).json() == {
                "database": "ok",
                "broker": "ok",
            }
            sent = await commune_adapter.client.post("/v1/documents", json=new_document())
            (received,) = await district_adapter.wait_for("document.received")
            package = await district_adapter.client.get(
                f"/v1/documents/{received['document']}/edxml"
            )
            mine = await commune_adapter.client.get(f"/v1/documents/{sent.json()['id']}/edxml")
            # And back: the district sends from its store on PostgreSQL.
            answer = await district_adapter.client.post(
                "/v1/documents", json=new_document() | {"to": [COMMUNE], "subject": "Trả lời"}
            )
            (back,) = await commune_adapter.wait_for("document.received")
            shown = await district_adapter.client.get(f"/v1/documents/{answer.json()['id']}")
    assert package.headers["content-type"].startswith("application/xml")
    assert package.content == mine.content  # the very bytes the commune signed
    assert back["payload"]["subject"] == "Trả lời"
    assert shown.json()["state"] in {"queued", "sent"}
