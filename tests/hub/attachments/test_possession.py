"""Knowing a file's SHA-256 gives nothing: only an agency that uploaded the bytes itself, or
that sent or holds a document carrying them, hears that the store has the file and may list
it in a package."""

from __future__ import annotations

import os

import httpx

from hub.attachments.store import FilesystemStore
from schemas.model import DocumentPackage, StatusPackage
from schemas.reader import read_package
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, DISTRICT, PROVINCE
from tests.hub.attachments.transfer import carrying, download, put, status, upload
from tests.hub.hub_stack import HubStack, Member, document, revocation


async def _delivered(hub: HubStack, sender: Member, doc: DocumentPackage) -> None:
    async with hub.worker():
        await hub.publish(sender, sender.sign(doc))
        for recipient in doc.recipients:
            assert len(await hub.drain(recipient.organ_id, expect=1)) == 1


async def _refused(hub: HubStack, sender: Member, doc: DocumentPackage) -> str:
    async with hub.worker():
        await hub.publish(sender, sender.sign(doc))
        (answer,) = await hub.drain(sender.code, expect=1)
        assert await hub.drain(doc.recipients[0].organ_id, expect=0, timeout=1) == []
    package = read_package(answer.body).package
    assert isinstance(package, StatusPackage) and package.status_code.value == "02"
    return package.description or ""


async def test_a_recipient_cut_off_by_a_deletion_cannot_send_the_file_on_by_its_digest(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    district, commune_a = hub.members[DISTRICT], hub.members[COMMUNE_A]
    data = os.urandom(40_000)
    digest = await upload(client, district, data)
    mistaken = carrying(document(DISTRICT, COMMUNE_A), ("ban-do.tif", data))
    await _delivered(hub, district, mistaken)
    await _delivered(hub, district, revocation(mistaken, COMMUNE_A, delete=True))
    assert (await download(client, commune_a, digest)).status_code == 403
    await _delivered(hub, district, carrying(document(DISTRICT, COMMUNE_B), ("ban-do.tif", data)))
    # The store still has the file, and says so to those entitled to it only.
    assert (await status(client, hub.members[COMMUNE_B], digest))["complete"] is True
    for outsider in (commune_a, hub.members[PROVINCE]):
        assert await status(client, outsider, digest) == {"sha256": digest, "offset": 0,
                                                          "complete": False}  # fmt: skip
    onward = carrying(document(COMMUNE_A, DISTRICT), ("ban-do.tif", data))
    reason = await _refused(hub, commune_a, onward)
    assert reason == (
        f"attachment 'ban-do.tif' (sha256 {digest[:12]}…, 40,000 bytes) was not uploaded by "
        f"'{COMMUNE_A}'; upload it to the hub's attachment store before sending the package"
    )
    # Sending the bytes (no shortcut for a file the store has) makes it the commune's to send.
    half = await put(client, commune_a, digest, data[:20_000], (0, 40_000))
    assert half.json() == {"offset": 20_000, "complete": False}
    assert (await status(client, commune_a, digest))["offset"] == 20_000
    rest = await put(client, commune_a, digest, data[20_000:], (20_000, 40_000))
    assert rest.json() == {"offset": 40_000, "complete": True}
    assert not store.partial_path(COMMUNE_A, digest).exists()
    assert store.blob_path(digest).read_bytes() == data
    assert (await status(client, commune_a, digest))["complete"] is True
    await _delivered(hub, commune_a, onward)


async def test_wrong_bytes_under_a_stored_digest_change_nothing(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    data = os.urandom(5000)
    digest = await upload(client, hub.members[DISTRICT], data)
    forged = await put(client, hub.members[PROVINCE], digest, os.urandom(5000), (0, 5000))
    assert forged.status_code == 422 and forged.json()["error"] == "digest-mismatch"
    assert store.blob_path(digest).read_bytes() == data
    listed = carrying(document(PROVINCE, DISTRICT), ("ban-do.tif", data))
    assert "was not uploaded by" in await _refused(hub, hub.members[PROVINCE], listed)
