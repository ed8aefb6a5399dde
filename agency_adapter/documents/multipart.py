"""Reading a multipart/form-data body as it streams in: never a whole file in memory.

File parts go straight to temporary files of the attachment store, hashed on the way (the
parser hands over slices of each network chunk); each is bounded by ``max_attachment_bytes``.
The other parts (``metadata``: the document as JSON) are kept in memory, bounded together by
``max_document_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from agency_adapter.attachments.outgoing import FileToSend
from agency_adapter.attachments.store import AttachmentStore, Incoming
from agency_adapter.errors import InvalidDocument, TooLarge

MAX_PARTS = 1000
MAX_NAME = 255  # characters of a file name
OCTET_STREAM = "application/octet-stream"


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)
    file: Incoming | None = None
    received: int = 0  # bytes of the file so far

    @property
    def content_type(self) -> str:
        return self.headers.get(b"content-type", b"").decode("latin-1").strip() or OCTET_STREAM


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class MultipartReader:
    """One multipart body: its fields (text) and its files (temporary files, hashed)."""

    def __init__(self, store: AttachmentStore, field_limit: int, file_limit: int) -> None:
        self.store, self.field_limit, self.file_limit = store, field_limit, file_limit
        self.fields: dict[str, str] = {}
        self.files: list[FileToSend] = []
        self.opened: list[Incoming] = []  # every temporary file, for the caller to discard
        self._parts = 0
        self._field_bytes = 0
        self._part = _Part()
        self._header = (bytearray(), bytearray())
        self._pending: list[tuple[_Part, bytes | None]] = []  # file data; None: the part ended
        self._ended = False  # the closing boundary came (the parser does not check it)

    async def read(self, request: Request) -> None:
        parser = MultipartParser(_boundary(request), {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data,
            "on_part_end": self._end, "on_end": self._closed,
        })  # fmt: skip
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                await self._write_pending()
            parser.finalize()
        except FormParserError as error:
            raise InvalidDocument(f"the multipart body cannot be read: {error}") from None
        except ClientDisconnect:
            raise InvalidDocument("the connection closed before the whole body came") from None
        if not self._ended:
            raise InvalidDocument(self._unfinished())
        await self._write_pending()

    def _closed(self) -> None:
        self._ended = True

    def _unfinished(self) -> str:
        """What a body that ended without its closing boundary left unfinished: a part cut
        short would be taken for a whole one, so nothing of it is kept."""
        part, where = self._part, ""
        if part.filename is not None:
            where = f" (in file '{part.filename}' of part '{part.name}')"
        elif part.name:
            where = f" (in part '{part.name}')"
        return (f"the multipart body ended before its closing boundary{where}: it was cut "
                f"short, so nothing of it is kept; send the whole body")  # fmt: skip

    async def _write_pending(self) -> None:
        """File data the parser handed over in its last chunk, written out (the parser's
        callbacks cannot wait for the disk)."""
        pending, self._pending = self._pending, []
        for part, data in pending:
            assert part.file is not None
            if data is not None:
                await part.file.write(data)
            else:
                digest = await part.file.finish()
                self.files.append(FileToSend(
                    name=part.filename or "file", content_type=part.content_type,
                    size=part.file.size, sha256=digest, path=part.file.path,
                ))  # fmt: skip

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise InvalidDocument(f"the multipart body has more than {MAX_PARTS} parts")
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0].extend(data[start:end])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1].extend(data[start:end])

    def _header_end(self) -> None:
        name, value = self._header
        self._part.headers[bytes(name).lower()] = bytes(value)
        self._header = (bytearray(), bytearray())

    def _headers_finished(self) -> None:
        part = self._part
        _, options = parse_options_header(part.headers.get(b"content-disposition"))
        part.name = _text(options.get(b"name", b""))
        if b"filename" in options:
            part.filename = _text(options[b"filename"])
            if len(part.filename) > MAX_NAME:
                raise InvalidDocument(f"a file name is longer than {MAX_NAME} characters: "
                                      f"'{part.filename[:60]}…'")  # fmt: skip
            part.file = self.store.receive()
            self.opened.append(part.file)

    def _data(self, data: bytes, start: int, end: int) -> None:
        part, size = self._part, end - start
        if part.file is None:
            self._field_bytes += size
            if self._field_bytes > self.field_limit:
                raise TooLarge(f"the multipart fields ('{part.name}') are above the limit of "
                               f"{self.field_limit:,} bytes")  # fmt: skip
            part.value.extend(data[start:end])
            return
        part.received += size
        if part.received > self.file_limit:
            raise TooLarge(f"attachment '{part.filename}' is above the limit of "
                           f"{self.file_limit:,} bytes per file")  # fmt: skip
        self._pending.append((part, data[start:end]))

    def _end(self) -> None:
        part = self._part
        if part.file is None:
            self.fields[part.name] = _text(bytes(part.value))
        else:
            self._pending.append((part, None))


def _boundary(request: Request) -> bytes:
    _, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidDocument("a multipart/form-data body needs a boundary in its Content-Type")
    return boundary
