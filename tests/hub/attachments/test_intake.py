"""Intake of packages that list files kept in the store: refused until every file is there,
then recorded with what each envelope carries."""

from __future__ import annotations

import os

import httpx
from sqlalchemy import select

from hub.attachments.store import FilesystemStore
from hub.models import Envelope, EnvelopeAttachment, Quarantine
from schemas.model import StatusPackage
from schemas.reader import read_package
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, DISTRICT
from tests.hub.attachments.transfer import carrying, put, sha, upload
from tests.hub.hub_stack import HubStack, document
from tests.services import unique_name


def _refusal(body: bytes) -> str:
    package = read_package(body).package
    assert isinstance(package, StatusPackage) and package.status_code.value == "02"
    return package.description or ""


async def test_a_package_whose_file_is_not_uploaded_is_refused_then_accepted_once_it_is(
    hub: HubStack, client: httpx.AsyncClient
) -> None:
    district = hub.members[DISTRICT]
    data = os.urandom(150_000)
    doc = carrying(document(DISTRICT, COMMUNE_A), ("bản đồ.tif", data))
    body = district.sign(doc)
    # Half of it is not enough.
    assert (await put(client, district, sha(data), data[:75_000], (0, 150_000))).status_code == 200
    async with hub.worker():
        await hub.publish(district, body, message_id=unique_name("first"))
        (refusal,) = await hub.drain(DISTRICT, expect=1)
        assert await hub.drain(COMMUNE_A, expect=0, timeout=1) == []
        await put(client, district, sha(data), data[75_000:], (75_000, 150_000))
        await hub.publish(district, body, message_id=unique_name("again"))
        (delivered,) = await hub.drain(COMMUNE_A, expect=1)
    assert _refusal(refusal.body) == (
        f"attachment 'bản đồ.tif' (sha256 {sha(data)[:12]}…, 150,000 bytes) was not uploaded by "
        f"'{DISTRICT}'; upload it to the hub's attachment store before sending the package"
    )
    assert delivered.body == body
    async with hub.runtime.sessions() as session:
        carried = (await session.execute(
            select(Envelope.document_id, EnvelopeAttachment.sha256, EnvelopeAttachment.name,
                   EnvelopeAttachment.size).join(Envelope)
        )).all()  # fmt: skip
        quarantined = list(await session.scalars(select(Quarantine.reason)))
    assert carried == [(doc.document_id, sha(data), "bản đồ.tif", 150_000)]
    assert len(quarantined) == 1 and "was not uploaded by" in quarantined[0]


async def test_every_listed_file_must_be_there_with_its_listed_size(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    district = hub.members[DISTRICT]
    first, second, lost = os.urandom(5000), os.urandom(7000), os.urandom(3000)
    for data in (first, second, lost):
        await upload(client, district, data)
    store.blob_path(sha(lost)).unlink()  # the store lost it (a disk replaced, say)
    missing = carrying(document(DISTRICT, COMMUNE_A), ("a.tif", first), ("b.tif", b"absent"))
    gone = carrying(document(DISTRICT, COMMUNE_A), ("lost.tif", lost))
    listed = carrying(document(DISTRICT, COMMUNE_A), ("a.tif", first))
    assert listed.lienthong is not None
    wrong_size = listed.lienthong.external_attachments[0].model_copy(update={"size": 4999})
    misdeclared = listed.model_copy(update={
        "lienthong": listed.lienthong.model_copy(update={"external_attachments": (wrong_size,)})
    })  # fmt: skip
    # The same file listed twice under two names is carried once.
    both = carrying(document(DISTRICT, COMMUNE_A, COMMUNE_B),
                    ("a.tif", first), ("b.tif", second), ("a-copy.tif", first))  # fmt: skip
    async with hub.worker():
        for doc in (missing, misdeclared, gone, both):
            await hub.publish(district, district.sign(doc))
        refusals = await hub.drain(DISTRICT, expect=3)
        assert len(await hub.drain(COMMUNE_B, expect=1)) == 1
    lost_file, absent, wrong = sorted(_refusal(message.body) for message in refusals)[::-1]
    assert absent.startswith("attachment 'b.tif'") and f"was not uploaded by '{DISTRICT}'" in absent
    assert wrong.startswith("attachment 'a.tif'") and "4,999 bytes) is 5,000 bytes in" in wrong
    assert lost_file.startswith("attachment 'lost.tif'")
    assert "is not in the hub's attachment store" in lost_file
    async with hub.runtime.sessions() as session:
        carried = set(await session.scalars(select(EnvelopeAttachment.sha256)))
    assert carried == {sha(first), sha(second)}
