"""What envelopes carry outside themselves, as intake sees it: every file a package lists must be
complete in the store, and uploaded by its sender (or one it may download), before the package
is accepted; the envelope records what it carries, and a deletion on mistake names the files it
may free."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hub.attachments import repository
from hub.attachments.store import AttachmentStore, StoredFile
from hub.errors import Refusal
from hub.models import EnvelopeAttachment
from schemas.model import DocumentPackage, ExternalAttachment, Package
from schemas.pending_rows import add_rows


def listed(package: Package) -> list[ExternalAttachment]:
    """The package's external attachments, once per digest (the same bytes may have two names)."""
    if not isinstance(package, DocumentPackage) or package.lienthong is None:
        return []
    unique = {a.sha256: a for a in reversed(package.lienthong.external_attachments)}
    return sorted(unique.values(), key=lambda attachment: attachment.sha256)


async def require_stored(
    session: AsyncSession, store: AttachmentStore, package: Package, sender: str
) -> None:
    """Refuse the package unless the sender uploaded each listed file itself (or may download
    it) and the store has it with the listed size. Each file stays locked against removal
    until the envelope carrying it is committed."""
    for attachment in listed(package):  # in digest order, so two intakes never deadlock
        await repository.hold_shared(session, attachment.sha256)
        if not await repository.entitled(session, sender, attachment.sha256):
            raise Refusal(f"{_named(attachment)} was not uploaded by '{sender}'; upload it to "
                          "the hub's attachment store before sending the package")  # fmt: skip
        stored = await store.claim(attachment.sha256)
        if stored is None or stored.size != attachment.size:
            raise Refusal(_not_stored(attachment, stored))


def _named(attachment: ExternalAttachment) -> str:
    return (
        f"attachment '{attachment.name}' (sha256 {attachment.sha256[:12]}…, "
        f"{attachment.size:,} bytes)"
    )


def _not_stored(attachment: ExternalAttachment, stored: StoredFile | None) -> str:
    what = _named(attachment)
    if stored is None:
        return f"{what} is not in the hub's attachment store; upload it before sending the package"
    return f"{what} is {stored.size:,} bytes in the hub's attachment store: the package is wrong"


def carry(session: AsyncSession, envelope_pk: uuid.UUID, package: Package) -> None:
    """Record what an accepted envelope carries (written with its envelope)."""
    rows = [{"envelope_pk": envelope_pk, "sha256": a.sha256, "name": a.name, "size": a.size}
            for a in listed(package)]  # fmt: skip
    add_rows(session, EnvelopeAttachment, rows)


async def freed_by(session: AsyncSession, package: Package, target_pk: uuid.UUID | None,
                   ) -> list[str]:  # fmt: skip
    """The files of the document (`target_pk`) a deletion on mistake acts on: to be purged
    after the commit, unless another envelope still needs them."""
    if not isinstance(package, DocumentPackage) or not package.deletes_on_mistake:
        return []
    return await repository.carried_by(session, target_pk) if target_pk is not None else []
