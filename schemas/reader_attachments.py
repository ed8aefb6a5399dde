"""Reading the manifest and the attached files of a document package.

Manifest references and attachments are matched by ContentId, compared without any ``cid:``
prefix; a file the manifest lists but nobody carries, or the reverse, is an error problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import SchemaViolation
from schemas.model import Attachment
from schemas.reader_nodes import Node


def normalize_content_id(raw: str) -> str:
    """ContentIds are compared without any 'cid:' prefix."""
    value = raw.strip()
    return value[4:] if value.lower().startswith("cid:") else value


@dataclass(frozen=True)
class _ManifestEntry:
    name: str | None
    content_type: str | None
    description: str | None
    node: Node


def _manifest(top: Node) -> dict[str, _ManifestEntry]:
    body = top.require("edXMLEnvelope").one("edXMLBody")
    manifest = body.one("edXMLManifest") if body else None
    entries: dict[str, _ManifestEntry] = {}
    for ref in manifest.many("Reference") if manifest else []:
        content_id = normalize_content_id(ref.text("ContentId") or "")
        if not content_id:
            raise SchemaViolation("a manifest Reference needs a ContentId", ref.where)
        if content_id in entries:
            top.ctx.note("error", f"the manifest lists '{content_id}' twice", ref.where)
        entries[content_id] = _ManifestEntry(
            ref.text("AttachmentName"), ref.text("ContentType"), ref.text("Description"), ref
        )
    return entries


def read_attachments(top: Node) -> tuple[Attachment, ...]:
    """The package's files, each with its manifest entry."""
    manifest = _manifest(top)
    encoded = top.one("AttachmentEncoded")
    found = [_attachment(node, manifest) for node in encoded.many("Attachment")] if encoded else []
    seen = {attachment.content_id for attachment in found}
    if len(seen) < len(found):
        top.ctx.note(
            "error", "two attachments share one ContentId", encoded.where if encoded else None
        )
    for content_id, entry in manifest.items():
        if content_id not in seen:
            top.ctx.note(
                "error",
                f"manifest lists attachment '{content_id}' but no file carries it",
                entry.node.where,
            )
    return tuple(found)


def _attachment(node: Node, manifest: dict[str, _ManifestEntry]) -> Attachment:
    content_id = normalize_content_id(node.text("ContentId") or "")
    if not content_id:
        raise SchemaViolation("an Attachment needs a ContentId", node.where)
    entry = manifest.get(content_id)
    if entry is None:
        node.ctx.note("error", f"attachment '{content_id}' is not in the manifest", node.where)
    name = node.text("AttachmentName") or (entry.name if entry else None)
    if name is None:
        raise SchemaViolation(f"attachment '{content_id}' has no AttachmentName", node.where)
    content = node.require("ContentTransferEncoded")
    content_type = node.text("ContentType")
    declared = entry.content_type if entry else None
    return Attachment(
        content_id=content_id,
        name=name,
        content_type=content_type,
        manifest_content_type=declared if declared != content_type else None,
        description=node.text("Description") or (entry.description if entry else None),
        content=content.base64(),
    )
