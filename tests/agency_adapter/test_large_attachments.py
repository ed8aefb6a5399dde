"""Large attachments: through the hub's store, streamed end to end, resumed when a link
drops, checked by the recipient, and removed with documents deleted on mistake."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
from pathlib import Path

import httpx
import pytest

from agency_adapter.attachments.store import AttachmentStore
from hub.attachments.store import FilesystemStore
from schemas.keys import load_certificates
from schemas.model import DocumentPackage
from schemas.reader import read_package
from schemas.signing import verify_package
from tests.agency_adapter.attachment_exchange import (
    INLINE_LIMIT,
    MIB,
    TIFF,
    Exchange,
    delivered_by_hub,
    exchange_on,
    post_file,
    random_file,
)
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.cutting_proxy import cutting_proxy
from tests.agency_adapter.documents import act, answered, show
from tests.agency_adapter.served import served

BOUNDARY = "lienthong-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
HOSTILE_TYPES = ("text/html\r\nSet-Cookie: phien=1", "ảnh/tiff")


async def streamed_digest(client: httpx.AsyncClient, url: str) -> tuple[str, int]:
    """SHA-256 and size of a GET's body, read as it streams."""
    digest, size = hashlib.sha256(), 0
    async with client.stream("GET", url) as answer:
        assert answer.status_code == 200, await answer.aread()
        async for chunk in answer.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def memory_kib(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak since the last reset) of this process."""
    status = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from VmRSS


async def test_a_100_mb_file_goes_commune_to_district_in_bounded_memory(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "ban-do-quy-hoach.tif"
    digest = random_file(source, 100 * MIB)
    async with (
        exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district,
        served(commune) as commune_api, served(district) as district_api,
    ):  # fmt: skip
        idle = memory_kib("VmRSS")
        reset_peak_memory()
        sent = await post_file(commune_api, source)
        assert sent.status_code == 202, sent.text
        (received,) = await district.wait_for("document.received", timeout=90)
        held = received["document"]
        shown = await show(district, held)
        got = await streamed_digest(district_api, f"/v1/documents/{held}/attachments/1")
        peak = memory_kib("VmHWM")
        package = (await district.client.get(f"/v1/documents/{held}/edxml")).content
    assert got == (digest, 100 * MIB)  # byte-identical
    assert shown["attachments"] == [
        {"index": 1, "name": source.name, "content_type": TIFF, "size": 100 * MIB}
    ]
    assert len(package) < 64 * 1024 and digest.encode() in package  # the file went outside
    growth_mib = (peak - idle) / 1024
    print(f"\nidle RSS {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
          f"growth {growth_mib:.1f} MiB for 100 MiB sent and read back")  # fmt: skip
    assert growth_mib < 40


async def test_a_cut_upload_and_a_cut_download_both_resume(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "phu-luc.tif"
    digest = random_file(source, 3 * MIB)
    watch = (b"PUT /v1/attachments/", b"/upload HTTP/1.1", b"bytes=")
    async with (
        cutting_proxy(exchange.hub_url, "up", MIB, watch) as up,
        cutting_proxy(exchange.hub_url, "down", MIB, watch) as down,
        exchange.adapter(COMMUNE, hub_url=f"http://127.0.0.1:{up.port}") as commune,
        exchange.adapter(DISTRICT, hub_url=f"http://127.0.0.1:{down.port}") as district,
    ):  # fmt: skip
        sent = await post_file(commune.client, source)
        assert sent.status_code == 202, sent.text
        (received,) = await district.wait_for("document.received")
        file = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert up.cuts == 1 and up.seen[b"PUT /v1/attachments/"] >= 2  # the upload went on
    assert up.seen[b"/upload HTTP/1.1"] >= 2  # it asked the hub's offset again after the cut
    assert down.cuts == 1 and down.seen[b"bytes="] >= 1  # the download asked for the rest


async def test_a_tampered_attachment_at_the_hub_is_refused_by_the_recipient(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "to-trinh.tif"
    digest = random_file(source, 2 * MIB)
    async with exchange.adapter(COMMUNE) as commune:
        sent = (await post_file(commune.client, source)).json()["id"]
        await delivered_by_hub(exchange.hub, (await show(commune, sent))["document_id"])
        with exchange.stored_at_hub(digest).open("r+b") as stored:  # the district is stopped
            stored.seek(MIB)
            stored.write(b"tampered" * 4)
        async with exchange.adapter(DISTRICT) as district:
            line = await answered(commune, sent, DISTRICT, count=1)
            inbox = (await district.client.get("/v1/documents", params={"box": "inbox"})).json()
            events = await district.events()
            kept = district.runtime.ctx.attachments
    (refusal,) = line["statuses"]
    assert (refusal["code"], line["state"]) == ("02", "refused")
    assert f"attachment '{source.name}': its SHA-256 is " in refusal["description"]
    assert f"but the package says {digest}" in refusal["description"]
    assert inbox["items"] == [] and [e["type"] for e in events] == ["envelope.refused"]
    assert not kept.has(digest, 2 * MIB) and list((kept.root / "incoming").iterdir()) == []


async def test_a_document_under_the_inline_limit_travels_inline(exchange: Exchange) -> None:
    small = os.urandom(10_000)
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        sent = await commune.client.post(
            "/v1/documents", data={"metadata": json.dumps({"to": [DISTRICT], "subject": "Nhỏ"})},
            files=[("files", ("nho.pdf", small, "application/pdf"))],
        )  # fmt: skip
        assert sent.status_code == 202, sent.text
        (received,) = await district.wait_for("document.received")
        held = received["document"]
        package = read_package((await district.client.get(f"/v1/documents/{held}/edxml")).content)
        file = await district.client.get(f"/v1/documents/{held}/attachments/1")
    assert isinstance(package.package, DocumentPackage)
    (inline,) = package.package.attachments
    assert inline.content == small and file.content == small
    assert package.package.lienthong is not None
    assert package.package.lienthong.external_attachments == ()
    assert not (exchange.hub.settings.attachment_dir / "blobs").exists()  # nothing went there


async def test_multipart_limits_and_a_missing_hub_url_are_explained(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "lon.bin"
    random_file(source, MIB + 1)
    limits = {"max_attachment_bytes": MIB, "max_document_bytes": 64 * 1024}
    async with exchange.adapter(COMMUNE, **limits) as commune:
        too_big = await post_file(commune.client, source)
        long_metadata = await commune.client.post(
            "/v1/documents",
            data={"metadata": json.dumps({"to": [DISTRICT], "subject": "x" * 70_000})},
            files=[("files", ("nho.txt", b"small", "text/plain"))],  # multipart, not a form
        )
        incoming = commune.runtime.ctx.attachments.root / "incoming"
        left = list(incoming.iterdir()) if incoming.exists() else []
    async with exchange.adapter(COMMUNE, hub_url=None) as without_hub:
        needs_hub = await post_file(without_hub.client, source)
    assert too_big.status_code == 413
    assert too_big.json() == {"error": "too-large", "detail": "attachment 'lon.bin' is above "
                              "the limit of 1,048,576 bytes per file"}  # fmt: skip
    assert long_metadata.status_code == 413 and "'metadata'" in long_metadata.json()["detail"]
    assert left == []  # the part received before the refusal was deleted
    assert needs_hub.status_code == 422 and "hub_url" in needs_hub.json()["detail"]


async def test_deleting_a_document_removes_its_file_unless_another_holds_it(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        first = (await post_file(commune.client, source, subject="Lần 1")).json()["id"]
        second = (await post_file(commune.client, source, subject="Lần 2")).json()["id"]
        await district.wait_for("document.received", count=2)
        store = district.runtime.ctx.attachments
        await act(commune, first, "delete", {"reason": "Gửi nhầm"})
        await district.wait_for("document.deleted")
        kept_while_held = store.has(digest, MIB)
        await act(commune, second, "delete", {"reason": "Gửi nhầm"})
        await district.wait_for("document.deleted", count=2)
        for _ in range(50):  # removed right after the deletion is handled
            if not store.has(digest, MIB):
                break
            await asyncio.sleep(0.1)
        removed = not store.path(digest).exists()
        sender_keeps = commune.runtime.ctx.attachments.has(digest, MIB)
    assert kept_while_held and removed and sender_keeps


async def test_a_new_version_without_new_files_keeps_the_large_one(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        sent = (await post_file(commune.client, source)).json()["id"]
        await district.wait_for("document.received")
        update: dict[str, object] = {"kind": "update", "reason": "Sửa", "subject": "V/v (sửa)"}
        assert (await act(commune, sent, "revisions", update)).status_code == 202
        (newer,) = [e for e in await district.wait_for("document.received", count=2)
                    if e["payload"].get("kind") == "update"]  # fmt: skip
        file = await district.client.get(f"/v1/documents/{newer['document']}/attachments/1")
    assert hashlib.sha256(file.content).hexdigest() == digest


async def test_a_file_the_hub_will_never_take_sets_its_document_aside(tmp_path: Path) -> None:
    """The hub stores files up to 1 MiB here: a 2 MiB one can never go, so its document is
    'failed' and the local system told why, and the documents behind it still go out."""
    source = tmp_path / "qua-lon.tif"
    random_file(source, 2 * MIB)
    async with (
        exchange_on(tmp_path, max_attachment_bytes=MIB) as exchange,
        exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district,
    ):  # fmt: skip
        stuck = (await post_file(commune.client, source)).json()["id"]
        behind = {"to": [DISTRICT], "subject": "V/v gửi sau"}
        assert (await commune.client.post("/v1/documents", json=behind)).status_code == 202
        (failed,) = await commune.wait_for("document.failed")
        (received,) = await district.wait_for("document.received")
        shown = await show(commune, stuck)
    assert shown["state"] == "failed" and failed["document"] == stuck
    assert "413" in failed["payload"]["reason"]
    assert received["payload"]["subject"] == "V/v gửi sau"


async def test_the_standard_form_inlines_outside_files_and_is_signed_by_the_agency(
    exchange: Exchange, tmp_path: Path
) -> None:
    """For a peer that speaks only plain edXML: the file back in AttachmentEncoded, the
    package signed by the agency that exports it, whichever side of the exchange it is."""
    source = tmp_path / "phu-luc.tif"
    random_file(source, MIB + 7)
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        sent = (await post_file(commune.client, source)).json()["id"]
        (received,) = await district.wait_for("document.received")
        forms = [
            await adapter.client.get(f"/v1/documents/{held}/edxml", params={"form": "standard"})
            for adapter, held in ((commune, sent), (district, received["document"]))
        ]
        wrong = await commune.client.get(f"/v1/documents/{sent}/edxml", params={"form": "zip"})
    trust = list(load_certificates(exchange.hub.settings.trust_bundle))
    for answer, signer in zip(forms, (COMMUNE, DISTRICT), strict=True):
        assert answer.status_code == 200, answer.text
        verification = verify_package(answer.content, trust=trust)
        assert verification.accepted, verification.reason
        assert verification.certificate is not None
        assert verification.certificate.agency_code == signer
        package = read_package(answer.content).package
        assert isinstance(package, DocumentPackage) and package.lienthong is not None
        assert package.lienthong.external_attachments == ()
        (inline,) = package.attachments
        assert (inline.name, inline.content) == (source.name, source.read_bytes())
    assert wrong.status_code == 422


async def test_a_multipart_body_cut_before_its_closing_boundary_is_refused(
    exchange: Exchange,
) -> None:
    """The parser takes a body that simply stops for a finished one: without a check, the
    metadata would be sent on its own and the file silently dropped."""
    metadata = json.dumps({"to": [DISTRICT], "subject": "V/v bản đồ quy hoạch"})
    cut = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{metadata}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="ban-do.tif"'
        "\r\nContent-Type: image/tiff\r\n\r\n"
    ).encode() + os.urandom(200_000)  # the file's bytes, and then nothing: no closing boundary
    async with exchange.adapter(COMMUNE) as commune:
        answer = await commune.client.post("/v1/documents", content=cut, headers=MULTIPART)
        outbox = (await commune.client.get("/v1/documents", params={"box": "outbox"})).json()
        incoming = commune.runtime.ctx.attachments.root / "incoming"
        left = list(incoming.iterdir()) if incoming.exists() else []
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid"
    assert answer.json()["detail"].startswith(
        "the multipart body ended before its closing boundary (in file 'ban-do.tif' of part "
        "'files')"
    )
    assert outbox["items"] == [] and left == []  # nothing sent, no temporary file left


async def test_a_hostile_content_type_or_name_cannot_break_the_download_headers(
    exchange: Exchange,
) -> None:
    """A sender's package says what type each file is: a value with a line break or a
    character a header cannot carry is served as application/octet-stream, inline or not."""
    small, large = os.urandom(1000), os.urandom(INLINE_LIMIT + 1)
    named = zip(('bao "cao"; x=1.pdf', "ảnh.tif"), HOSTILE_TYPES, (small, large), strict=True)
    files = [
        {"name": name, "content_type": kind, "content_base64": base64.b64encode(data).decode()}
        for name, kind, data in named
    ]
    document = {"to": [DISTRICT], "subject": "V/v kiểu tệp lạ", "attachments": files}
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        assert (await commune.client.post("/v1/documents", json=document)).status_code == 202
        (received,) = await district.wait_for("document.received")
        held = received["document"]
        shown = await show(district, held)
        answers = [await district.client.get(f"/v1/documents/{held}/attachments/{i}")
                   for i in (1, 2)]  # fmt: skip
    assert [a["content_type"] for a in shown["attachments"]] == list(HOSTILE_TYPES)
    for answer, data in zip(answers, (small, large), strict=True):
        assert answer.status_code == 200 and answer.content == data
        assert answer.headers["content-type"] == "application/octet-stream"
        assert "set-cookie" not in answer.headers
    assert answers[0].headers["content-disposition"] == (
        "attachment; filename*=UTF-8''bao%20%22cao%22%3B%20x%3D1.pdf"
    )
    assert answers[1].headers["content-disposition"] == (
        "attachment; filename*=UTF-8''%E1%BA%A3nh.tif"
    )


async def test_an_upload_the_hub_finds_corrupt_is_sent_again_from_byte_0(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The hub holds half an upload of other bytes (as if the file changed under a cut
    upload): the adapter goes on from there, the hub's digest check fails and throws the
    partial away, and the adapter sends the whole file again instead of giving up."""
    source = tmp_path / "to-trinh.tif"
    digest = random_file(source, MIB)
    store = exchange.hub.runtime.store
    assert isinstance(store, FilesystemStore)
    partial = store.partial_path(COMMUNE, digest)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(os.urandom(MIB // 2))
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        sent = (await post_file(commune.client, source)).json()["id"]
        (received,) = await district.wait_for("document.received")
        file = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
        shown = await show(commune, sent)
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert shown["state"] != "failed"


async def test_a_file_purged_between_the_check_and_the_read_is_a_clean_404(
    exchange: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion on mistake may remove a file just after the adapter saw it there."""
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    async with exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT) as district:
        await post_file(commune.client, source)
        (received,) = await district.wait_for("document.received")
        store = district.runtime.ctx.attachments
        store.path(digest).unlink()  # the purge, after...
        monkeypatch.setattr(AttachmentStore, "has", lambda *_: True)  # ...the file was seen
        answer = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not-found" and "ban-do.tif" in answer.json()["detail"]


async def test_a_file_kept_outside_is_served_by_ranges(exchange: Exchange, tmp_path: Path) -> None:
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB + 5)
    content = source.read_bytes()
    async with exchange.adapter(COMMUNE) as commune:
        sent = (await post_file(commune.client, source)).json()["id"]
        url = f"/v1/documents/{sent}/attachments/1"
        part = await commune.client.get(url, headers={"Range": "bytes=1000-1999"})
        tail = await commune.client.get(url, headers={"Range": "bytes=-5"})
        beyond = await commune.client.get(url, headers={"Range": f"bytes={MIB + 5}-"})
        other = await commune.client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"x"'})
    assert (part.status_code, part.content) == (206, content[1000:2000])
    assert part.headers["content-range"] == f"bytes 1000-1999/{MIB + 5}"
    assert part.headers["etag"] == f'"{digest}"' and part.headers["accept-ranges"] == "bytes"
    assert (tail.status_code, tail.content) == (206, content[-5:])
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{MIB + 5}"
    assert (other.status_code, other.content) == (200, content)  # another version: all of it
