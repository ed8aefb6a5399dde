"""Reading what a local system posts to /v1/documents: JSON, multipart, or a ready package.

- ``application/json``: a DocumentIn, attachments in base64;
- ``multipart/form-data``: a ``metadata`` part (DocumentIn as JSON, attachments optional) and
  one file part per attachment;
- ``application/xml``: a ready edXML document package from this agency, which the adapter
  signs with its key.

Too large a body is refused with 413 before it is parsed; bad input gets a 422 whose detail
names the fields, in FastAPI's usual shape.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from agency_adapter.documents.payloads import AttachmentIn, DocumentIn
from agency_adapter.errors import InvalidDocument, TooLarge

JSON, MULTIPART, XML = "application/json", "multipart/form-data", ("application/xml", "text/xml")

OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/DocumentIn"}},
            MULTIPART: {"schema": {"type": "object", "properties": {
                "metadata": {"type": "string", "description": "DocumentIn as JSON"},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
            }, "required": ["metadata"]}},
            "application/xml": {"schema": {"type": "string", "description": "an edXML package"}},
        },
    }
}  # fmt: skip


@dataclass(frozen=True)
class Submission:
    document: DocumentIn | None = None
    package: bytes | None = None


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


async def _multipart(request: Request, limit: int) -> DocumentIn:
    form = await request.form(max_part_size=limit)
    metadata = form.get("metadata")
    if not isinstance(metadata, str):
        raise InvalidDocument("multipart needs a 'metadata' part holding the document as JSON")
    document = _validated(metadata, "metadata")
    files = [part for _, part in form.multi_items() if isinstance(part, UploadFile)]
    uploads = [
        AttachmentIn(
            name=f.filename or "file",
            content_type=f.content_type or "application/octet-stream",
            content_base64=base64.b64encode(await f.read()).decode(),
        )
        for f in files
    ]
    return document.model_copy(update={"attachments": [*document.attachments, *uploads]})


async def read_submission(request: Request, limit: int) -> Submission:
    _check_size(request, limit)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == MULTIPART:
        return Submission(document=await _multipart(request, limit))
    body = await request.body()
    _check_size(request, limit, len(body))
    if kind in XML:
        return Submission(package=body)
    if kind in (JSON, ""):
        return Submission(document=_validated(body, "body"))
    raise InvalidDocument(f"content type '{kind}' is not accepted: send JSON, multipart or edXML")
