"""Order-insensitive, namespace-checked access to the elements of an edXML tree.

Real producers order elements differently, so children are looked up by name, never by
position. Every fault names the element path and source line it was found at.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, TypeVar

from lxml import etree

from schemas.errors import Location, SchemaViolation
from schemas.model import VIETNAM_TIME
from schemas.namespaces import EDXML

T = TypeVar("T")
Severity = Literal["error", "warning", "repair"]
DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"


@dataclass(frozen=True)
class Problem:
    """Something found while reading: an error makes the package unacceptable."""

    severity: Severity
    message: str
    where: Location | None = None

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


@dataclass
class ReadContext:
    """Reading mode and the problems collected so far."""

    lenient: bool = False
    problems: list[Problem] = field(default_factory=list)

    def note(self, severity: Severity, message: str, where: Location | None = None) -> None:
        self.problems.append(Problem(severity, message, where))

    def repair(self, message: str, where: Location) -> None:
        """A legacy quirk: repaired and reported in lenient mode, refused in strict mode."""
        if not self.lenient:
            raise SchemaViolation(f"{message} (lenient mode would repair this)", where)
        self.note("repair", message, where)


def split_tag(tag: str) -> tuple[str | None, str]:
    """'{namespace}local' as (namespace, local), lxml's own spelling of a name; the string
    taken apart here costs a tenth of building an etree.QName for it."""
    if tag[:1] != "{":
        return None, tag
    namespace, _, local = tag[1:].partition("}")
    return namespace, local


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return split_tag(tag)[1] if isinstance(tag, str) else etree.QName(element).localname


def element_path(element: etree._Element) -> str:
    """'/edXML/edXMLEnvelope/...' by local names, as every message shows paths."""
    names = [local_name(node) for node in (element, *element.iterancestors())]
    return "/" + "/".join(reversed(names))


class Node:
    """One element of the package, with its path for error messages."""

    def __init__(self, ctx: ReadContext, element: etree._Element, path: str) -> None:
        self.ctx = ctx
        self.element = element
        self.path = path
        self._index: dict[str, list[tuple[etree._Element, str | None]]] | None = None

    @property
    def where(self) -> Location:
        return Location(line=self.element.sourceline, path=self.path)

    def _by_name(self) -> dict[str, list[tuple[etree._Element, str | None]]]:
        """The child elements by local name, each with its namespace, in document order:
        built once per node (a header is asked for some twenty names)."""
        if self._index is None:
            index: dict[str, list[tuple[etree._Element, str | None]]] = {}
            for child in self.element:
                if isinstance(child.tag, str):
                    namespace, local = split_tag(child.tag)
                    index.setdefault(local, []).append((child, namespace))
            self._index = index
        return self._index

    def _children(self, name: str) -> list[etree._Element]:
        found = []
        for child, namespace in self._by_name().get(name, ()):
            if namespace == EDXML:
                found.append(child)
            elif namespace is None:
                self.ctx.repair(f"element '{name}' has no namespace, read as edXML", self.where)
                found.append(child)
        return found

    def many(self, name: str) -> list[Node]:
        children = self._children(name)
        if len(children) == 1:
            return [Node(self.ctx, children[0], f"{self.path}/{name}")]
        return [Node(self.ctx, c, f"{self.path}/{name}[{i}]") for i, c in enumerate(children, 1)]

    def one(self, *names: str) -> Node | None:
        """The single child of one of the names (spellings of one element), or None."""
        index = self._by_name()
        present = [name for name in names if name in index]
        if not present:
            return None
        if len(present) == 1 and len(entries := index[present[0]]) == 1 and entries[0][1] == EDXML:
            return Node(self.ctx, entries[0][0], f"{self.path}/{present[0]}")  # the usual case
        found = [(name, child) for name in present for child in self._children(name)]
        if len(found) > 1:
            (_, first), (second_name, second) = found[0], found[1]
            raise SchemaViolation(
                f"'{local_name(first)}' appears more than once ('{second_name}' again), "
                "at most once is allowed",
                Location(line=second.sourceline, path=f"{self.path}/{second_name}"),
            )
        if not found:
            return None
        name, child = found[0]
        return Node(self.ctx, child, f"{self.path}/{name}")

    def require(self, name: str) -> Node:
        node = self.one(name)
        if node is None:
            raise SchemaViolation(f"required element '{name}' is missing", self.where)
        return node

    @property
    def raw_text(self) -> str:
        """All character data of a leaf element (comments are not data: C14N drops them too)."""
        if len(self.element) == 0:  # no child at all, not even a comment: its text is all
            return self.element.text or ""
        for child in self.element:
            if isinstance(child.tag, str):
                raise SchemaViolation(
                    f"'{local_name(self.element)}' must hold text only, "
                    f"found element '{local_name(child)}' inside it",
                    Location(line=child.sourceline, path=self.path),
                )
        return "".join(self.element.itertext())

    @property
    def value(self) -> str | None:
        """The element's text, stripped; None when empty."""
        return self.raw_text.strip() or None

    def text(self, name: str) -> str | None:
        node = self.one(name)
        return node.value if node else None

    def convert(self, name: str, kind: str, parse: Callable[[str], T]) -> T | None:
        node = self.one(name)
        raw = node.value if node else None
        if node is None or raw is None:
            return None
        try:
            return parse(raw)
        except ValueError:
            raise SchemaViolation(f"'{name}' must be {kind}, found '{raw}'", node.where) from None

    def integer(self, name: str) -> int | None:
        return self.convert(name, "a whole number", int)

    def boolean(self, name: str) -> bool | None:
        return self.convert(name, "true or false", _parse_bool)

    def date(self, name: str) -> date | None:
        return self.convert(name, "a date yyyy/MM/dd", _parse_date)

    def timestamp(self, name: str) -> datetime | None:
        return self.convert(name, "a timestamp yyyy/MM/dd HH:mm:ss", _parse_timestamp)

    def base64(self) -> bytes:
        raw = "".join(self.raw_text.split())
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            preview = raw[:40] + ("..." if len(raw) > 40 else "")
            self.ctx.repair(
                f"attachment content is not base64 ('{preview}'); read as empty", self.where
            )
            self.ctx.note("error", "attachment content could not be decoded", self.where)
            return b""


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(raw)


# What datetime.strptime accepts for DATE_FORMAT and TIMESTAMP_FORMAT, spelled out: its own
# patterns for %Y %m %d (and %H %M %S, the space standing for any run of whitespace), read
# at a tenth of its cost (every package has two or three). A test holds them to strptime.
_DATE = r"(\d\d\d\d)/(1[0-2]|0[1-9]|[1-9])/(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])"
_DATE_ONLY = re.compile(_DATE)
_TIMESTAMP = re.compile(_DATE + r"\s+(2[0-3]|[0-1]\d|\d):([0-5]\d|\d):(6[0-1]|[0-5]\d|\d)")


def _parse_date(raw: str) -> date:
    """As `datetime.strptime(raw, DATE_FORMAT).date()`; ValueError when it is not one."""
    if (found := _DATE_ONLY.fullmatch(raw)) is None:
        raise ValueError(raw)
    return date(*(int(field) for field in found.groups()))


def _parse_timestamp(raw: str) -> datetime:
    """As `datetime.strptime(raw, TIMESTAMP_FORMAT)`, in Vietnam's time."""
    if (found := _TIMESTAMP.fullmatch(raw)) is None:
        raise ValueError(raw)
    year, month, day, hour, minute, second = (int(field) for field in found.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM_TIME)
