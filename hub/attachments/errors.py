"""What can go wrong with an upload, under the hub's one error hierarchy."""

from __future__ import annotations

from hub.errors import Conflict, HubError, Transient


class OffsetMismatch(Conflict):
    """A chunk that does not start where this agency's upload stands: it must resume there."""

    code = "offset-mismatch"

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset

    def fields(self) -> dict[str, object]:
        return {"offset": self.offset}


class UploadBusy(OffsetMismatch):
    """Another request is still appending to the same upload (a retry overtook a dropped one)."""

    code = "upload-in-progress"


class DigestMismatch(HubError):
    """The complete upload's bytes do not have the SHA-256 they were uploaded under."""

    code = "digest-mismatch"
    http_status = 422


class StoreUnavailable(Transient):
    """The store's disk cannot be written (full, read-only, gone): retry later."""

    code = "store-unavailable"


class UploadQuotaExceeded(HubError):
    """An agency's unfinished uploads would hold more than its share of the hub's disk."""

    code = "upload-quota"
    http_status = 507


class StoreFull(HubError):
    """The disk where uploads grow is down to its reserve: retry later."""

    code = "store-full"
    http_status = 507
