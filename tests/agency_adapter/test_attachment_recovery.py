"""Files outside packages after something went wrong half way: an upload whose bytes all
reached the hub, a download left corrupt by a crash, a document refused for one of its files."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

from sqlalchemy import select

from agency_adapter.models import AwaitingFiles
from hub.attachments.store import FilesystemStore
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.attachment_exchange import (
    MIB,
    TIFF,
    Exchange,
    delivered_by_hub,
    post_file,
    random_file,
)
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.cutting_proxy import forwarding
from tests.agency_adapter.documents import answered, show
from tests.hub.served import free_port


async def test_an_upload_whose_bytes_all_arrived_but_did_not_finish_is_finished(
    exchange: Exchange, tmp_path: Path
) -> None:
    """Every byte reached the hub but the request that finishes it did not (a 503, or the
    hub restarted before its digest check): the adapter asks it to finish, sending nothing."""
    source = tmp_path / "to-trinh.tif"
    digest = random_file(source, MIB)
    store = exchange.hub.runtime.store
    assert isinstance(store, FilesystemStore)
    partial = store.partial_path(COMMUNE, digest)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(source.read_bytes())
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        sent = (await post_file(commune.client, source)).json()["id"]
        (received,) = await district.wait_for("document.received")
        file = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
        shown = await show(commune, sent)
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert shown["state"] != "failed" and not partial.exists()


async def test_a_bad_partial_download_left_here_is_fetched_again_from_byte_0(
    exchange: Exchange, tmp_path: Path
) -> None:
    """A download an earlier run left half done, with bytes that are not the file's (the
    partial is not synced as it grows): the digest fails, and the file is fetched again
    from byte 0 rather than the sender being told its file is wrong."""
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    port = free_port()  # the district's hub_url: the hub is away until the partial is there
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", "attachment_retry_s": 0.1,
               "attachment_max_backoff_s": 0.2}  # fmt: skip
    async with exchange.adapter(COMMUNE) as commune:
        sent = (await post_file(commune.client, source)).json()["id"]
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            partial = district.runtime.ctx.attachments.incoming(f"{digest}.download")
            await waited(district)
            partial.write_bytes(os.urandom(MIB // 2))
            async with forwarding(exchange.hub_url, port):
                (received,) = await district.wait_for("document.received")
                url = f"/v1/documents/{received['document']}/attachments/1"
                file = await district.client.get(url)
            line = await answered(commune, sent, DISTRICT, count=1)
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert [s["code"] for s in line["statuses"]] == ["01"] and not partial.exists()


async def waited(adapter: Adapter) -> None:
    """Until a received document has waited once for its files."""
    for _ in range(200):
        async with adapter.runtime.sessions() as session:
            if await session.scalar(select(AwaitingFiles.id).where(AwaitingFiles.attempts > 0)):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no document waited for its files")


async def test_a_refused_document_leaves_none_of_its_files_behind(
    exchange: Exchange, tmp_path: Path
) -> None:
    """Its first file came whole, its second was tampered with at the hub: the document is
    refused, and the first file, which nothing else holds, is removed too."""
    good, bad = tmp_path / "ban-do.tif", tmp_path / "phu-luc.tif"
    fetched, tampered = random_file(good, MIB), random_file(bad, MIB)
    metadata = json.dumps({"to": [DISTRICT], "subject": "V/v hai tệp"})
    async with exchange.adapter(COMMUNE) as commune:
        with good.open("rb") as one, bad.open("rb") as two:
            files = [("files", (good.name, one, TIFF)), ("files", (bad.name, two, TIFF))]
            posted = await commune.client.post(
                "/v1/documents", data={"metadata": metadata}, files=files
            )
        sent = posted.json()["id"]
        await delivered_by_hub(exchange.hub, (await show(commune, sent))["document_id"])
        with exchange.stored_at_hub(tampered).open("r+b") as stored:  # the district is stopped
            stored.write(b"tampered")
        async with exchange.adapter(DISTRICT) as district:
            line = await answered(commune, sent, DISTRICT, count=1)
            store = district.runtime.ctx.attachments
            left = [store.path(digest).exists() for digest in (fetched, tampered)]
    assert [s["code"] for s in line["statuses"]] == ["02"] and bad.name in str(line)
    assert left == [False, False]
