"""The hub's errors, under the one lienthong hierarchy.

``Refusal``s are verdicts on input (the sender hears the reason); ``Transient`` errors mean a
service is away and the work must wait, never be thrown away. One handler maps these to HTTP
(hub.api), one policy to broker decisions (hub.intake.consumers).
"""

from __future__ import annotations

from schemas.errors import LienthongError


class HubError(LienthongError):
    code = "hub"
    http_status = 500

    def fields(self) -> dict[str, object]:
        """What an HTTP answer carries besides the error code and detail (nothing by default)."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer needs (a 401's WWW-Authenticate, say)."""
        return {}


class Refusal(HubError):
    """An envelope the hub will not route; the reason goes back to the sender in a status 02."""

    code = "refused"
    http_status = 422


class NotFound(HubError):
    code = "not-found"
    http_status = 404


class Conflict(HubError):
    code = "conflict"
    http_status = 409


class InvalidRequest(HubError):
    code = "invalid"
    http_status = 422


class BadRequest(HubError):
    """A request the hub cannot even interpret (a malformed header or path)."""

    code = "bad-request"
    http_status = 400


class Unauthenticated(HubError):
    """An agency's request whose signature is missing, stale or does not verify."""

    code = "unauthenticated"
    http_status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Lienthong-Signature"}


class Forbidden(HubError):
    code = "forbidden"
    http_status = 403


class TooLarge(HubError):
    code = "too-large"
    http_status = 413


class Transient(HubError):
    """A service (database, broker) is unavailable for now: retry later, lose nothing."""

    code = "unavailable"
    http_status = 503


class BrokerUnavailable(Transient):
    code = "broker-unavailable"


class Unroutable(Transient):
    """The broker returned a mandatory publish: a mailbox queue is missing."""

    code = "unroutable"


class DatabaseUnavailable(Transient):
    code = "database-unavailable"


class ConfigurationError(HubError):
    """The hub cannot start as configured (missing key, unreadable trust bundle, ...)."""

    code = "configuration"
