"""The directory as the intake reads it: an in-memory snapshot, checked against the
database's directory version (migration 0007) once per message.

Every message needs its publisher with its certificates and its recipients expanded; asked of
the database each time, that was a third of the intake's queries. The snapshot is replaced as
soon as the version moved, so a suspension or a revocation committed before a message is
admitted applies to it, exactly as when each message queried the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from hub.directory import repository
from hub.models import Agency, AgencyGroup, AgencyState


@dataclass(frozen=True)
class CertificateView:
    fingerprint: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AgencyView:
    code: str
    level: str
    parent_code: str | None
    state: str
    broker_user: str
    certificates: tuple[CertificateView, ...]

    @classmethod
    def of(cls, row: Agency) -> AgencyView:
        certificates = tuple(
            CertificateView(c.fingerprint, c.not_before, c.not_after, c.revoked_at)
            for c in row.certificates
        )
        return cls(row.code, row.level, row.parent_code, row.state, row.broker_user, certificates)


@dataclass(frozen=True)
class GroupView:
    code: str
    anchor_code: str
    rule: str  # 'children:<level>' = direct children of that level; 'descendants'


@dataclass
class Resolution:
    """Recipients an envelope names, expanded; what could not be used is kept for the refusal."""

    agencies: list[AgencyView] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)


class Directory:
    """Agencies, their certificates and the groups, as of one directory version."""

    def __init__(self, version: int, agencies: Iterable[AgencyView],
                 groups: Iterable[GroupView]) -> None:  # fmt: skip
        self.version = version
        self._by_code = {a.code: a for a in sorted(agencies, key=lambda a: a.code)}
        self._by_broker_user = {a.broker_user: a for a in self._by_code.values()}
        self._groups = {g.code: g for g in groups}
        self._children: dict[str, list[AgencyView]] = {}
        for agency in self._by_code.values():  # in code order, as the tables were read
            if agency.parent_code is not None:
                self._children.setdefault(agency.parent_code, []).append(agency)

    def by_broker_user(self, user: str) -> AgencyView | None:
        return self._by_broker_user.get(user)

    def _expand(self, group: GroupView) -> list[AgencyView]:
        if group.rule.startswith("children:"):
            level = group.rule.split(":", 1)[1]
            return [a for a in self._children.get(group.anchor_code, []) if a.level == level]
        found, frontier = [], [group.anchor_code]
        while frontier:
            below = self._children.get(frontier.pop(), [])
            found.extend(below)
            frontier.extend(a.code for a in below)
        return found

    def _members(self, code: str) -> list[AgencyView] | None:
        """What an address stands for: a group's active members, or one agency; None if
        nothing is registered under it."""
        if code in self._groups:
            return [a for a in self._expand(self._groups[code]) if a.state == AgencyState.ACTIVE]
        agency = self._by_code.get(code)
        return None if agency is None else [agency]

    def resolve(self, codes: Sequence[str]) -> Resolution:
        """Agencies and groups named as recipients, each agency once, suspended ones apart."""
        resolution, seen = Resolution(), set[str]()
        for code in codes:
            members = self._members(code)
            if members is None:
                resolution.unknown.append(code)
                continue
            for agency in members:
                if agency.state != AgencyState.ACTIVE:
                    resolution.suspended.append(agency.code)
                elif agency.code not in seen:
                    seen.add(agency.code)
                    resolution.agencies.append(agency)
        return resolution


def _group_view(row: AgencyGroup) -> GroupView:
    return GroupView(row.code, row.anchor_code, row.rule)


_HELD = "lienthong.directory"  # the snapshot a session's transaction judges by


class DirectoryCache:
    """One process's snapshot; `current` gives the one matching the database's version."""

    def __init__(self) -> None:
        self._snapshot: Directory | None = None

    async def current(self, session: AsyncSession) -> Directory:
        """One small query when nothing changed; the whole directory is read again otherwise.
        Read in the caller's transaction, after the version: never older than it says. Asked
        once per transaction: messages admitted together are judged by the same directory."""
        if (held := session.info.get(_HELD)) is not None:
            return cast(Directory, held)
        version = await repository.directory_version(session)
        snapshot = self._snapshot
        if snapshot is None or snapshot.version != version:
            agencies = [AgencyView.of(row) for row in await repository.agencies(session)]
            groups = [_group_view(row) for row in await repository.groups(session)]
            snapshot = self._snapshot = Directory(version, agencies, groups)
        session.info[_HELD] = snapshot
        return snapshot
