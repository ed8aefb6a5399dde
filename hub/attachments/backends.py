"""Which attachment store a hub uses: a directory, or an S3-compatible bucket when one is named."""

from __future__ import annotations

from hub.attachments.store import AttachmentStore, FilesystemStore
from hub.settings import HubSettings


def open_store(settings: HubSettings) -> AttachmentStore:
    """The store the settings describe (nothing is created until it is used)."""
    if settings.attachment_s3_bucket:
        # Imported only here: boto3 adds about 15 MB to every hub process that never uses it.
        from hub.attachments.s3 import S3Store  # noqa: PLC0415

        return S3Store(settings)
    return FilesystemStore(settings.attachment_dir)
