"""The hub's client of the RabbitMQ management HTTP API: its vhost, broker accounts, queue stats.

Accounts and permissions are administered over HTTP, not AMQP, so this module never imports
aio_pika (hub/broker.py owns the AMQP side). Every failure, whether the API is unreachable or
answers with an error, surfaces as a BrokerAdminError naming the request; httpx never leaks.

Permission semantics this module relies on (RabbitMQ 3.10, proven in
tests/hub/test_broker_admin.py):

- basic.publish needs `write` on the exchange; the default exchange is the resource
  `amq.default`, so a write pattern naming only the intake exchange keeps it out of reach.
- basic.consume and basic.get need `read` on the queue and nothing else; passive declares need
  no permission at all (so an agency can learn any queue's depth, never its content).
- Permissions are checked per operation, but a consumer that already runs keeps receiving after
  its permissions are deleted: disabling an account must also close its connections.
- RabbitMQ refuses a message whose `user_id` differs from the connection's user, but it accepts
  one with no `user_id`: the hub must still require it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from hub.errors import Transient
from hub.settings import HubSettings
from schemas.http_tls import outgoing_client

# No real resource has an empty name (a server-named queue gets "amq.gen-…" before the check),
# so this pattern grants nothing.
NOTHING = "^$"
_RESPONSE_EXCERPT = 300
_QUEUE_COLUMNS = "name,messages_ready,messages_unacknowledged,consumers,head_message_timestamp"


class BrokerAdminError(Transient):
    """The RabbitMQ management API could not be reached or refused a request."""

    code = "broker-admin"


@dataclass(frozen=True, slots=True)
class Permissions:
    """One account's regular expressions on one vhost, as RabbitMQ stores them."""

    configure: str
    write: str
    read: str

    def as_json(self) -> dict[str, str]:
        return {"configure": self.configure, "write": self.write, "read": self.read}


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What an operator needs to see about one queue.

    The counts come from the management statistics, which lag the queue by up to the broker's
    collect_statistics_interval (5 s by default); a queue not sampled yet reports zeros.
    RabbitMQ only gives the head message's timestamp for classic queues whose head message
    carries one; quorum queues always report None.
    """

    name: str
    messages_ready: int
    messages_unacknowledged: int
    consumers: int
    head_message_timestamp: datetime | None


def agency_username(settings: HubSettings, agency_code: str) -> str:
    """The broker account of an agency: users are global, so the name says what it is."""
    return f"{settings.broker_user_prefix}{agency_code}"


def agency_permissions(settings: HubSettings, agency_code: str) -> Permissions:
    """Least privilege: publish to the intake exchange, read its own mailbox, declare nothing."""
    return Permissions(
        configure=NOTHING,
        write=f"^{re.escape(settings.intake_exchange)}$",
        read=f"^{re.escape(settings.mailbox_queue(agency_code))}$",
    )


def hub_permissions(settings: HubSettings) -> Permissions:
    """Everything the hub's topology is made of, by name, and every mailbox; nothing else."""
    names = sorted(
        {
            settings.intake_exchange,
            settings.intake_queue,
            settings.mailbox_exchange,
            settings.unroutable_exchange,
            settings.unroutable_queue,
            settings.dead_letter_exchange,
            settings.dead_letter_queue,
        }
    )
    alternatives = [re.escape(name) for name in names]
    alternatives.append(f"{re.escape(settings.mailbox_prefix)}.+")
    pattern = f"^(?:{'|'.join(alternatives)})$"
    return Permissions(configure=pattern, write=pattern, read=pattern)


def _segment(value: str) -> str:
    # Vhost, user and queue names may hold '/' (the default vhost is "/"): quote everything.
    return quote(value, safe="")


def _check_agency_code(agency_code: str) -> None:
    if not agency_code or agency_code.strip() != agency_code:
        raise ValueError(f"not an agency code: {agency_code!r}")


def _timestamp(value: object) -> datetime | None:
    # AMQP timestamps are whole seconds since the epoch; anything else means "not known".
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _count(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    return value if isinstance(value, int) else 0


def _queue_stats(row: dict[str, Any]) -> QueueStats:
    return QueueStats(
        name=str(row["name"]),
        messages_ready=_count(row, "messages_ready"),
        messages_unacknowledged=_count(row, "messages_unacknowledged"),
        consumers=_count(row, "consumers"),
        head_message_timestamp=_timestamp(row.get("head_message_timestamp")),
    )


class BrokerAdmin:
    """Administers the hub's vhost through the management API; use as an async context."""

    def __init__(self, settings: HubSettings, *, timeout_s: float = 10.0) -> None:
        self._settings = settings
        self._vhost = _segment(settings.vhost)
        try:
            base = f"{settings.management_base}/api"
            username, password = settings.management_credentials
            self._client = outgoing_client(
                base_url=base, auth=(username, password.get_secret_value()), timeout=timeout_s
            )
        except (ValueError, httpx.InvalidURL) as exc:
            # A malformed management URL (bad port, bad host) is a settings error, said plainly.
            raise BrokerAdminError(f"unusable RabbitMQ management URL: {exc}") from exc

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def ensure_vhost(self) -> None:
        """Create the hub's vhost; a vhost that already exists is left as it is."""
        await self._request("PUT", f"/vhosts/{self._vhost}")

    async def delete_vhost(self) -> None:
        """Remove the vhost with every queue and message in it (benchmarks, sandboxes)."""
        await self._request("DELETE", f"/vhosts/{self._vhost}", missing_ok=True)

    async def ensure_agency_account(self, agency_code: str, password: str | None = None) -> str:
        """Create or update an agency's account with least privilege; returns its password.

        Without a password a fresh random one is set, so calling this again rotates it: new
        connections need the new password, open ones stay up until they reconnect.
        """
        _check_agency_code(agency_code)
        secret = secrets.token_urlsafe(24) if password is None else password
        await self._put_user(agency_username(self._settings, agency_code), secret)
        await self.enable_agency_account(agency_code)
        return secret

    async def enable_agency_account(self, agency_code: str) -> None:
        """(Re)grant an agency its least-privilege permissions on the hub's vhost."""
        _check_agency_code(agency_code)
        permissions = agency_permissions(self._settings, agency_code)
        await self._put_permissions(agency_username(self._settings, agency_code), permissions)

    async def disable_agency_account(self, agency_code: str) -> None:
        """Keep the account but take away every access, including connections already open.

        Deleting the permissions stops new connections and new operations at once, but a
        consumer that is already running keeps receiving; closing the account's connections
        ends that too. RabbitMQ closes them on every vhost: users are global, and an agency's
        account is meant to be used for this hub only.
        """
        _check_agency_code(agency_code)
        username = _segment(agency_username(self._settings, agency_code))
        await self._request("DELETE", f"/permissions/{self._vhost}/{username}", missing_ok=True)
        await self.close_connections(
            agency_username(self._settings, agency_code), reason="account disabled"
        )

    async def delete_agency_account(self, agency_code: str) -> None:
        """Remove an agency's account altogether; RabbitMQ closes its connections."""
        _check_agency_code(agency_code)
        await self.delete_account(agency_username(self._settings, agency_code))

    async def ensure_hub_account(self, username: str, password: str) -> None:
        """Create or update the hub's own account: full rights on its topology, nothing else."""
        await self._put_user(username, password)
        await self.grant_hub_permissions(username)

    async def grant_hub_permissions(self, username: str) -> None:
        """Give an existing account (its password untouched) the hub's rights on the vhost."""
        await self._put_permissions(username, hub_permissions(self._settings))

    async def delete_account(self, username: str) -> None:
        """Delete any account by name; an account that does not exist is not an error."""
        await self._request("DELETE", f"/users/{_segment(username)}", missing_ok=True)

    async def close_connections(self, username: str, *, reason: str) -> None:
        """Close every AMQP connection of one account; the reason reaches the client."""
        path = f"/connections/username/{_segment(username)}"
        await self._request("DELETE", path, headers={"X-Reason": reason}, missing_ok=True)

    async def permissions(self, username: str) -> Permissions | None:
        """An account's permissions on the hub's vhost, or None when it has none."""
        path = f"/permissions/{self._vhost}/{_segment(username)}"
        response = await self._request("GET", path, missing_ok=True)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        row = self._json(response, "GET", path)
        try:
            return Permissions(configure=row["configure"], write=row["write"], read=row["read"])
        except (KeyError, TypeError) as exc:
            raise BrokerAdminError(f"GET {path}: unexpected answer {row!r}") from exc

    async def queue_stats(self, names: list[str] | None = None) -> list[QueueStats]:
        """Depth and consumers of the named queues (in that order), or of every queue.

        A named queue that does not exist is left out rather than failing the whole answer: an
        operator's page should still show the others.
        """
        # One listing trimmed to the columns used, not one request per queue: a province has
        # hundreds of mailboxes.
        path = f"/queues/{self._vhost}?columns={_QUEUE_COLUMNS}"
        response = await self._request("GET", path)
        rows = self._json(response, "GET", path)
        try:
            found = {stats.name: stats for stats in map(_queue_stats, rows)}
        except (KeyError, TypeError) as exc:
            raise BrokerAdminError(f"GET {path}: unexpected answer {rows!r:.300}") from exc
        if names is None:
            return sorted(found.values(), key=lambda stats: stats.name)
        return [found[name] for name in names if name in found]

    async def _put_user(self, username: str, password: str) -> None:
        if not password:
            raise ValueError("a broker account needs a non-empty password")
        # Empty tags: no management UI, no impersonation of other users' user_id.
        body = {"password": password, "tags": ""}
        await self._request("PUT", f"/users/{_segment(username)}", json=body)

    async def _put_permissions(self, username: str, permissions: Permissions) -> None:
        path = f"/permissions/{self._vhost}/{_segment(username)}"
        await self._request("PUT", path, json=permissions.as_json())

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response:
        where = f"{method} {self._client.base_url}{path.lstrip('/')}"
        try:
            response = await self._client.request(method, path, json=json, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = str(exc) or type(exc).__name__
            raise BrokerAdminError(f"RabbitMQ management API: {where} failed: {reason}") from exc
        if response.is_success or (missing_ok and response.status_code == httpx.codes.NOT_FOUND):
            return response
        # The request body may hold a password; only the answer is quoted.
        text = response.text.strip()[:_RESPONSE_EXCERPT]
        raise BrokerAdminError(
            f"RabbitMQ management API: {where} answered "
            f"{response.status_code} {response.reason_phrase}: {text}"
        )

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise BrokerAdminError(f"{method} {path}: answer is not JSON: {exc}") from exc
