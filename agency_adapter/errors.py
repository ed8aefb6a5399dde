"""The adapter's errors, under the one lienthong hierarchy; one handler maps them to HTTP."""

from __future__ import annotations

from schemas.errors import LienthongError


class AdapterError(LienthongError):
    code = "adapter"
    http_status = 500


class NotFound(AdapterError):
    code = "not-found"
    http_status = 404


class Conflict(AdapterError):
    """A transition the standard does not allow (e.g. 'finished' before 'accepted')."""

    code = "conflict"
    http_status = 409


class Gone(AdapterError):
    """The content was purged (deleted on mistake by its sender); only a tombstone is left."""

    code = "gone"
    http_status = 410


class InvalidDocument(AdapterError):
    code = "invalid"
    http_status = 422


class TooLarge(AdapterError):
    code = "too-large"
    http_status = 413


class BrokerUnavailable(AdapterError):
    code = "broker-unavailable"
    http_status = 503


class ConfigurationError(AdapterError):
    code = "configuration"


class HubUnavailable(AdapterError):
    """The hub's attachment store did not answer (or answered 5xx): try again later."""

    code = "hub-unavailable"
    http_status = 503


class HubForbids(HubUnavailable):
    """The hub answered 403 to a download: the sender deleted the document on mistake (the
    hub then forgets who may fetch its files), or the hub does not count us a recipient."""

    code = "hub-forbids"


class AttachmentRefused(AdapterError):
    """The hub will never take this file as it is (too large for it, or not what we say)."""

    code = "attachment-refused"
    http_status = 422


class UploadDigestMismatch(AttachmentRefused):
    """The hub hashed an upload and found other bytes than the file's (it threw them away)."""


class AttachmentMismatch(AdapterError):
    """A downloaded attachment is not the file the signed package describes."""

    code = "attachment-mismatch"
    http_status = 422


class FileVanished(HubUnavailable):
    """A file fetched for a waiting document was removed before the document was stored (a
    purge of another document that held it): it is fetched again."""

    code = "file-vanished"


class VersionWaits(AdapterError):
    """A new version whose earlier version still waits for its files: stored after it."""

    code = "version-waits"

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until  # when the earlier version is tried next (epoch seconds)
