"""The hub's HTTP API on real services: tokens and roles, directory, timelines, trust, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hub.api.app import create_app
from hub.models import AgencyLevel
from hub.settings import Role
from schemas.keys import issue_agency_certificate
from tests.hub.hub_stack import HubStack, document, hub_stack
from tests.services import POSTGRES_ADMIN_DSN

TOKENS = {"viewer-token": Role.VIEWER, "operator-token": Role.OPERATOR, "admin-token": Role.ADMIN}
PROVINCE, DISTRICT = "000.00.00.H40", "000.00.29.H40"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[HubStack, httpx.AsyncClient]]:
    async with hub_stack(tmp_path, operator_tokens=TOKENS) as stack:
        await stack.register(PROVINCE, AgencyLevel.PROVINCE)
        app = create_app(stack.settings, stack.runtime)
        app.state.runtime = stack.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield stack, client


async def test_health_is_open_and_everything_else_needs_a_token(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    _, client = api
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"database": "ok", "broker": "ok"}
    for path in ("/v1/agencies", "/v1/trust-bundle", "/v1/groups"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=auth("forged"))).status_code == 401


async def test_agencies_are_listed_and_registered_by_role(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    _, client = api
    listed = await client.get("/v1/agencies", headers=auth("viewer-token"))
    assert [a["code"] for a in listed.json()] == [PROVINCE]
    body = {
        "code": DISTRICT,
        "name": "UBND huyện Hải Hậu",
        "level": "district",
        "parent_code": PROVINCE,
    }
    assert (
        await client.post("/v1/agencies", json=body, headers=auth("operator-token"))
    ).status_code == 403
    created = await client.post("/v1/agencies", json=body, headers=auth("admin-token"))
    assert created.status_code == 201, created.text
    registered = created.json()
    assert registered["agency"]["mailbox"] == f"lienthong.mailbox.{DISTRICT}"
    assert len(registered["broker_password"]) >= 24
    again = await client.post("/v1/agencies", json=body, headers=auth("admin-token"))
    assert again.status_code == 409 and "already registered" in again.json()["detail"]
    groups = await client.get("/v1/groups", headers=auth("viewer-token"))
    assert {g["code"] for g in groups.json()} == {f"{PROVINCE}-all", f"{DISTRICT}-communes"}


async def test_bad_requests_say_what_is_wrong(api: tuple[HubStack, httpx.AsyncClient]) -> None:
    _, client = api
    bad = {"code": "bad code!", "name": "x", "level": "district"}
    answer = await client.post("/v1/agencies", json=bad, headers=auth("admin-token"))
    assert answer.status_code == 422 and "is not an agency code" in answer.text
    missing = await client.get("/v1/agencies/000.99.99.H40", headers=auth("viewer-token"))
    assert missing.status_code == 404 and "no agency with code" in missing.json()["detail"]
    orphan = {
        "code": "000.01.99.H40",
        "name": "x",
        "level": "commune",
        "parent_code": "000.00.99.H40",
    }
    answer = await client.post("/v1/agencies", json=orphan, headers=auth("admin-token"))
    assert answer.status_code == 422 and "is not registered" in answer.json()["detail"]


async def test_certificates_are_added_checked_and_revoked(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    fresh = issue_agency_certificate(stack.ca, PROVINCE, "again", algorithm="ec")
    pem = fresh.certificate.public_bytes(Encoding.PEM).decode()
    added = await client.post(f"/v1/agencies/{PROVINCE}/certificates", json={"pem": pem},
                              headers=auth("admin-token"))  # fmt: skip
    assert added.status_code == 201, added.text
    fingerprint = added.json()["fingerprint"]
    revoked = await client.post(f"/v1/agencies/{PROVINCE}/certificates/{fingerprint[:12]}/revoke",
                                headers=auth("admin-token"))  # fmt: skip
    assert revoked.json()["revoked_at"] is not None
    shown = (await client.get(f"/v1/agencies/{PROVINCE}", headers=auth("viewer-token"))).json()
    assert len(shown["certificates"]) == 2
    garbage = await client.post(f"/v1/agencies/{PROVINCE}/certificates", json={"pem": "nope"},
                                headers=auth("admin-token"))  # fmt: skip
    assert garbage.status_code == 422 and "not PEM" in garbage.json()["detail"]


async def test_trust_bundle_holds_the_ca_and_the_hub(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    answer = await client.get("/v1/trust-bundle", headers=auth("viewer-token"))
    certificates = x509.load_pem_x509_certificates(answer.content)
    assert stack.ca.certificate in certificates and len(certificates) == 2


async def test_a_timeline_by_envelope_id_and_by_document_id(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    district = await stack.register(DISTRICT, AgencyLevel.DISTRICT, PROVINCE)
    doc = document(DISTRICT, PROVINCE)
    async with stack.worker():
        await stack.publish(district, district.sign(doc), message_id="env-api")
        await stack.drain(PROVINCE, expect=1)
    by_envelope = await client.get("/v1/envelopes/env-api/timeline", headers=auth("viewer-token"))
    assert by_envelope.status_code == 200, by_envelope.text
    (recipient,) = by_envelope.json()["recipients"]
    assert recipient["recipient_code"] == PROVINCE and recipient["delivery_state"] == "queued"
    by_document = await client.get("/v1/timelines", params={"document_id": doc.document_id},
                                   headers=auth("viewer-token"))  # fmt: skip
    assert [t["envelope_id"] for t in by_document.json()] == ["env-api"]
    unknown = await client.get("/v1/envelopes/nope/timeline", headers=auth("viewer-token"))
    assert unknown.status_code == 404


async def test_openapi_is_published(api: tuple[HubStack, httpx.AsyncClient]) -> None:
    _, client = api
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/v1/agencies", "/v1/envelopes/{envelope_id}/timeline", "/readyz"} <= set(paths)


async def test_a_restart_of_postgresql_answers_503_once_then_recovers(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    assert (await client.get("/v1/agencies", headers=auth("viewer-token"))).status_code == 200
    database = urlsplit(stack.settings.database_url).path.lstrip("/")
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:  # what a restart does to the pooled connections
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await admin.close()
    away = await client.get("/v1/agencies", headers=auth("viewer-token"))
    assert away.status_code == 503
    assert away.json()["error"] == "database-unavailable"
    back = await client.get("/v1/agencies", headers=auth("viewer-token"))
    assert back.status_code == 200 and [a["code"] for a in back.json()] == [PROVINCE]
