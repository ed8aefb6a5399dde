"""The hub's attachment store in an S3-compatible bucket: uploads resume on the hub's disk and
complete into the bucket, downloads stream ranges from it, purges remove the object.

The bucket is served by moto's standalone server: an S3-compatible HTTP server on a local
port, spoken to by the same boto3 code as any object store (no Python-level patching)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from hub.attachments import service
from hub.attachments.ranges import respond
from hub.attachments.s3 import S3Store
from hub.errors import NotFound
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, DISTRICT, district_hub
from tests.hub.attachments.transfer import carrying, download, put, sha, status, upload
from tests.hub.hub_stack import HubStack, document
from tests.hub.served import free_port, serving

BUCKET = "lienthong-attachments"
KEYS = {"aws_access_key_id": "lienthong", "aws_secret_access_key": "not-a-secret"}


@pytest.fixture
def object_store() -> Iterator[str]:
    """An S3-compatible server on a free local port, with an empty bucket."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", **KEYS).create_bucket(
        Bucket=BUCKET
    )
    yield url
    server.stop()


@pytest.fixture
async def s3_hub(tmp_path: Path, object_store: str) -> AsyncIterator[tuple[HubStack, str]]:
    settings: dict[str, Any] = {
        "attachment_dir": tmp_path / "uploads", "attachment_s3_bucket": BUCKET,
        "attachment_s3_endpoint_url": object_store, "attachment_s3_prefix": "hub-1/",
        "attachment_s3_access_key": KEYS["aws_access_key_id"],
        "attachment_s3_secret_key": KEYS["aws_secret_access_key"],
    }  # fmt: skip
    async with district_hub(tmp_path, **settings) as hub, serving(hub) as url:
        yield hub, url


def bucket_object(url: str, digest: str) -> bytes | None:
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **KEYS)
    try:
        body: bytes = client.get_object(Bucket=BUCKET, Key=f"hub-1/blobs/{digest}")["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    return body


async def test_files_go_to_the_bucket_and_come_back_in_ranges(
    s3_hub: tuple[HubStack, str], object_store: str, tmp_path: Path
) -> None:
    hub, url = s3_hub
    assert isinstance(hub.runtime.store, S3Store)
    district, commune = hub.members[DISTRICT], hub.members[COMMUNE_A]
    data = os.urandom(300_000)
    async with httpx.AsyncClient(base_url=url) as client:
        half = await put(client, district, sha(data), data[:100_000], (0, len(data)))
        assert half.json() == {"offset": 100_000, "complete": False}
        assert bucket_object(object_store, sha(data)) is None  # not complete: still on disk
        rest = await put(client, district, sha(data), data[100_000:], (100_000, len(data)))
        assert rest.json() == {"offset": len(data), "complete": True}
        digest = sha(data)
        assert bucket_object(object_store, digest) == data
        assert not list((tmp_path / "uploads" / "partial").rglob(digest))  # moved, not copied
        async with hub.worker():
            await hub.publish(district, district.sign(carrying(document(DISTRICT, COMMUNE_A),
                                                               ("ban-do.tif", data))))  # fmt: skip
            assert len(await hub.drain(COMMUNE_A, expect=1)) == 1  # the hub found it complete
        whole = await download(client, commune, digest)
        middle = await download(client, commune, digest, Range="bytes=1000-1999")
        tail = await download(client, commune, digest, Range="bytes=-10")
        beyond = await download(client, commune, digest, Range="bytes=400000-")
        stranger = await download(client, hub.members[COMMUNE_B], digest)
        assert await hub.runtime.store.remove(digest) is True
        gone = await download(client, commune, digest)
        after = await status(client, district, digest)
    assert (whole.status_code, whole.content) == (200, data)
    assert (middle.status_code, middle.content) == (206, data[1000:2000])
    assert middle.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert (tail.status_code, tail.content) == (206, data[-10:])
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    assert stranger.status_code == 403
    assert gone.status_code == 404 and bucket_object(object_store, digest) is None
    assert after == {"sha256": digest, "offset": 0, "complete": False}


async def test_the_store_lists_what_the_bucket_holds(
    s3_hub: tuple[HubStack, str], object_store: str
) -> None:
    hub, url = s3_hub
    files = [os.urandom(n) for n in (0, 1, 70_000)]
    async with httpx.AsyncClient(base_url=url) as client:
        for data in files[1:]:
            await upload(client, hub.members[DISTRICT], data)
        empty = await put(client, hub.members[DISTRICT], sha(b""), b"", (0, 0))
        assert empty.json() == {"offset": 0, "complete": True}
    listed = [stored async for batch in hub.runtime.store.listing() for stored in batch]
    assert sorted((f.sha256, f.size) for f in listed) == sorted((sha(d), len(d)) for d in files)


async def test_a_copy_is_not_sent_again_and_a_vanished_object_is_a_404(
    s3_hub: tuple[HubStack, str], object_store: str, tmp_path: Path
) -> None:
    hub, url = s3_hub
    data = os.urandom(20_000)
    async with httpx.AsyncClient(base_url=url) as client:
        digest = await upload(client, hub.members[DISTRICT], data)
        # Another agency must send the bytes too; its copy is checked, then dropped.
        assert (await status(client, hub.members[COMMUNE_B], digest))["complete"] is False
        await upload(client, hub.members[COMMUNE_B], data)
        assert not list((tmp_path / "uploads" / "partial").rglob(digest))
        assert bucket_object(object_store, digest) == data
        async with hub.worker():
            doc = carrying(document(DISTRICT, COMMUNE_A), ("ban-do.tif", data))
            await hub.publish(hub.members[DISTRICT], hub.members[DISTRICT].sign(doc))
            assert len(await hub.drain(COMMUNE_A, expect=1)) == 1
    # Removed between the checks and the answer's first byte: a 404, not a broken answer.
    opened = await service.download(hub.runtime, COMMUNE_A, digest)
    assert await hub.runtime.store.remove(digest)
    with pytest.raises(NotFound, match="was removed from the hub's store"):
        await respond(opened, None, None)
