"""Who may use the attachment store: signed requests of active agencies with a current
certificate; downloads only for the sender and recipients of a document carrying the file."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import update
from starlette.responses import Response

from hub.attachments import service
from hub.attachments.ranges import respond
from hub.attachments.store import FilesystemStore
from hub.db import transaction
from hub.models import Agency, AgencyCertificate, AgencyState
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, DISTRICT, PROVINCE
from tests.hub.attachments.transfer import (
    answer_messages,
    carrying,
    download,
    path_of,
    sha,
    signed,
    upload,
)
from tests.hub.hub_stack import HubStack, document
from tests.schemas.packages import attachment


async def _refused(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    path = f"{path_of(sha(b'x'))}/upload"
    response = await client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Lienthong-Signature"
    assert response.json()["error"] == "unauthenticated"
    detail: str = response.json()["detail"]
    return detail


async def test_requests_without_a_current_signature_are_401(
    hub: HubStack, client: httpx.AsyncClient
) -> None:
    commune, district = hub.members[COMMUNE_A], hub.members[DISTRICT]
    path = f"{path_of(sha(b'x'))}/upload"
    assert "Authorization header" in await _refused(client, {})
    assert "scheme" in await _refused(client, {"Authorization": "Bearer abc"})
    stale = signed(commune, "GET", path, at=time.time() - 3600)
    assert "hub's clock" in await _refused(client, stale)
    other_path = signed(commune, "GET", path_of(sha(b"x")))  # signed for another request
    assert "does not verify" in await _refused(client, other_path)
    # The commune's key, claiming to be the district.
    borrowed = signed(commune, "GET", path)["Authorization"].replace(COMMUNE_A, DISTRICT)
    assert "does not verify" in await _refused(client, {"Authorization": borrowed})
    unknown = signed(commune, "GET", path)["Authorization"].replace(COMMUNE_A, "000.99.29.H40")
    assert "not registered" in await _refused(client, {"Authorization": unknown})
    async with transaction(hub.runtime.sessions) as session:
        await session.execute(
            update(Agency).where(Agency.code == COMMUNE_B).values(state=AgencyState.SUSPENDED)
        )
        revoke = (
            update(AgencyCertificate)
            .where(AgencyCertificate.agency_id == Agency.id, Agency.code == DISTRICT)
            .values(revoked_at=datetime.now(UTC))
        )
        await session.execute(revoke)
    assert "suspended" in await _refused(client, signed(hub.members[COMMUNE_B], "GET", path))
    assert "no current certificate" in await _refused(client, signed(district, "GET", path))
    assert (await client.get(path, headers=signed(commune, "GET", path))).status_code == 200


async def _sent(hub: HubStack, client: httpx.AsyncClient, data: bytes) -> str:
    """The district uploads a file and sends commune A a document carrying it."""
    district = hub.members[DISTRICT]
    digest = await upload(client, district, data)
    doc = carrying(document(DISTRICT, COMMUNE_A), ("ban-do.tif", data))
    async with hub.worker():
        await hub.publish(district, district.sign(doc))
        assert len(await hub.drain(COMMUNE_A, expect=1)) == 1
    return digest


async def test_only_the_sender_and_recipients_download_and_ranges_resume(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    data = os.urandom(200_000)
    digest = await _sent(hub, client, data)
    whole = await download(client, hub.members[COMMUNE_A], digest)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["etag"] == f'"{digest}"'
    rest = await download(client, hub.members[COMMUNE_A], digest, Range="bytes=123456-")
    assert rest.status_code == 206 and rest.content == data[123_456:]
    assert rest.headers["content-range"] == f"bytes 123456-199999/{len(data)}"
    middle = await download(client, hub.members[COMMUNE_A], digest, Range="bytes=10-19")
    assert middle.status_code == 206 and middle.content == data[10:20]
    assert (await download(client, hub.members[DISTRICT], digest)).content == data
    for stranger in (COMMUNE_B, PROVINCE):
        refused = await download(client, hub.members[stranger], digest)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    store.blob_path(digest).unlink()  # purged, say
    gone = await download(client, hub.members[COMMUNE_A], digest)
    assert gone.status_code == 404 and gone.json()["error"] == "not-found"
    assert (await download(client, hub.members[COMMUNE_B], digest)).status_code == 403


async def test_a_file_no_document_carries_is_nobodys_to_download(
    hub: HubStack, client: httpx.AsyncClient
) -> None:
    """Uploading a file gives no right to it: only a document carrying it does."""
    district = hub.members[DISTRICT]
    digest = await upload(client, district, attachment().content)
    assert (await download(client, district, digest)).status_code == 403
    missing = await download(client, district, "0" * 64)
    assert missing.status_code == 403  # 403 before 404: no probing for what the store holds


async def _answered(response: Response) -> tuple[int, bytes, bool]:
    """An answer's status, its body, and whether it was finished."""
    sent = await answer_messages(response)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, sent[-1].get("more_body") is False


async def test_a_file_removed_once_its_download_is_decided_is_still_sent_whole(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    """A purge between the checks and the first byte: the file was opened before answering."""
    data = os.urandom(2 * 1024 * 1024 + 5000)  # several pieces
    digest = await _sent(hub, client, data)
    whole = await service.download(hub.runtime, COMMUNE_A, digest)
    tail = await service.download(hub.runtime, COMMUNE_A, digest)
    assert await store.remove(digest)
    assert await _answered(await respond(whole, None, None)) == (200, data, True)
    assert await _answered(await respond(tail, "bytes=-10", None)) == (206, data[-10:], True)
    assert (await download(client, hub.members[COMMUNE_A], digest)).status_code == 404
