"""Reading what a local system posts to /v1/documents: JSON, multipart, or a ready package.

- ``application/json``: a DocumentIn, attachments in base64;
- ``multipart/form-data``: a ``metadata`` part (DocumentIn as JSON, attachments optional) and
  one file part per attachment, streamed to the attachment store's temporary files (each
  bounded by ``max_attachment_bytes``, the metadata by ``max_document_bytes``);
- ``application/xml``: a ready edXML document package from this agency, which the adapter
  signs with its key.

Too large a body (or part) is refused with 413; bad input gets a 422 whose detail names the
fields, in FastAPI's usual shape. Temporary files left when the request ends (the document
was refused, or its files went inline) are deleted then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from agency_adapter.attachments.outgoing import FileToSend
from agency_adapter.context import AdapterContext
from agency_adapter.documents.multipart import MultipartReader
from agency_adapter.documents.payloads import DocumentIn
from agency_adapter.errors import InvalidDocument, TooLarge

JSON, MULTIPART, XML = "application/json", "multipart/form-data", ("application/xml", "text/xml")

OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/DocumentIn"}},
            MULTIPART: {"schema": {"type": "object", "properties": {
                "metadata": {"type": "string", "description": "DocumentIn as JSON"},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                          "description": "the files, streamed to disk (each up to the "
                                         "adapter's max_attachment_bytes)"},
            }, "required": ["metadata"]}},
            "application/xml": {"schema": {"type": "string", "description": "an edXML package"}},
        },
    }
}  # fmt: skip


@dataclass(frozen=True)
class Submission:
    document: DocumentIn | None = None
    package: bytes | None = None
    files: tuple[FileToSend, ...] = ()  # multipart file parts, in temporary files


def _check_size(request: Request, limit: int, size: int | None = None) -> None:
    declared = request.headers.get("content-length")
    actual = size if size is not None else int(declared) if declared and declared.isdigit() else 0
    if actual > limit:
        raise TooLarge(f"the request is {actual:,} bytes, above the limit of {limit:,} bytes")


def _validated(raw: bytes | str, where: str) -> DocumentIn:
    try:
        return DocumentIn.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": (where, *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


@asynccontextmanager
async def _multipart(request: Request, ctx: AdapterContext) -> AsyncIterator[Submission]:
    settings = ctx.settings
    reader = MultipartReader(
        ctx.attachments, settings.max_document_bytes, settings.max_attachment_bytes
    )
    try:
        await reader.read(request)
        metadata = reader.fields.get("metadata")
        if metadata is None:
            raise InvalidDocument("multipart needs a 'metadata' part holding the document as JSON")
        yield Submission(document=_validated(metadata, "metadata"), files=tuple(reader.files))
    finally:
        for incoming in reader.opened:
            incoming.discard()  # those the store adopted are gone from here already


@asynccontextmanager
async def read_submission(request: Request, ctx: AdapterContext) -> AsyncIterator[Submission]:
    """The posted document, for as long as the block runs (its temporary files with it)."""
    limit = ctx.settings.max_document_bytes
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == MULTIPART:
        async with _multipart(request, ctx) as submission:
            yield submission
        return
    _check_size(request, limit)
    body = await request.body()
    _check_size(request, limit, len(body))
    if kind in XML:
        yield Submission(package=body)
    elif kind in (JSON, ""):
        yield Submission(document=_validated(body, "body"))
    else:
        raise InvalidDocument(
            f"content type '{kind}' is not accepted: send JSON, multipart or edXML"
        )
