"""Parsing untrusted XML safely: no DTD, no entities, no network, bounded size and depth.

Every package that reaches lienthong comes from outside; a DTD is never legitimate in edXML,
so any document type declaration is refused: before parsing when the bytes show it in UTF-8 or
UTF-16, and after parsing (the parser never expands entities, loads a DTD or touches the
network) whatever encoding hid it. Only UTF-8 and UTF-16 are accepted at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from schemas.errors import Location, MalformedXmlError, UnsafeXmlError
from schemas.namespaces import DSIG, EDXML

# Well-known namespaces that real producers use without declaring them (lenient repairs only).
KNOWN_PREFIXES = {
    "edXML": EDXML,
    "xlink": "http://www.w3.org/1999/xlink",
    "ds": DSIG,
}
_UNDECLARED_PREFIX = re.compile(r"Namespace prefix (\S+) (?:for \S+ )?on \S+ is not defined")
_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class ParseLimits:
    """What an input may cost: total size, nesting depth, and whether legacy quirks are repaired."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    lenient: bool = False


@dataclass
class ParsedXml:
    """A parsed tree and the repairs (lenient mode only) it took to get it."""

    root: etree._Element
    repairs: list[str] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _line_col(data: bytes, offset: int) -> Location:
    line = data.count(b"\n", 0, offset) + 1
    return Location(line=line, column=offset - (data.rfind(b"\n", 0, offset) + 1) + 1)


def _refuse_dtd(data: bytes) -> None:
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        offset = data.find("<!DOCTYPE".encode(encoding))
        if offset >= 0:
            raise UnsafeXmlError(
                "document type declarations (DTDs) are not allowed in edXML: "
                "entities and external DTDs are refused",
                _line_col(data, offset),
            )


def _refuse_prolog_junk(data: bytes) -> None:
    start = next((len(bom) for bom in _BOMS if data.startswith(bom)), 0)
    body = data[start:].lstrip(b" \t\r\n")
    if not body:
        raise MalformedXmlError("the input is empty", Location(line=1, column=1))
    if not body.startswith(b"<"):
        junk = body[:16].split(b"<", 1)[0]
        raise MalformedXmlError(
            f"{len(junk)} stray byte(s) {junk!r} before the XML declaration or first element",
            _line_col(data, len(data) - len(body)),
        )


_ACCEPTED_ENCODINGS = frozenset(
    {"UTF-8", "UTF8", "US-ASCII", "ASCII", "UTF-16", "UTF-16LE", "UTF-16BE"}
)


def _check_document(root: etree._Element) -> None:
    """What only the parsed tree shows: a DTD smuggled in another encoding, or that encoding."""
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise UnsafeXmlError(
            "document type declarations (DTDs) are not allowed in edXML: "
            "entities and external DTDs are refused",
            Location(line=1),
        )
    encoding = (info.encoding or "UTF-8").upper()
    if encoding not in _ACCEPTED_ENCODINGS:
        raise UnsafeXmlError(
            f"the {encoding} encoding is not accepted: edXML packages are UTF-8 (or UTF-16)",
            Location(line=1),
        )


@lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> etree.XPath:
    """Whether any element lies below `max_depth` levels: one walk of the tree in libxml2,
    about a tenth of the cost of walking it in Python (every package is parsed several times
    on its way)."""
    return etree.XPath("boolean(" + "/".join(["*"] * max_depth) + ")")


def _check_depth(root: etree._Element, max_depth: int) -> None:
    if max_depth >= 1 and not _deeper_than(max_depth)(root):
        return
    _find_too_deep(root, max_depth)


def _find_too_deep(root: etree._Element, max_depth: int) -> None:
    """Raise, saying where, for the first element found below `max_depth` levels."""
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeXmlError(
                f"elements nested deeper than {max_depth} levels",
                Location(line=element.sourceline),
            )
        stack.extend((child, depth + 1) for child in element)


def _syntax_error(
    error: etree.XMLSyntaxError, entries: list[etree._LogEntry], lenient: bool
) -> MalformedXmlError | UnsafeXmlError:
    """The error to report: in lenient mode, the first fault a repair would not cure."""
    fatal = [e for e in entries if not (lenient and _UNDECLARED_PREFIX.search(e.message))]
    if fatal:
        line, column, message = fatal[0].line, fatal[0].column, fatal[0].message
    else:
        (line, column), message = error.position, error.msg.rsplit(", line ", 1)[0]
    if "Text node too long" in message or "huge text node" in message:
        return UnsafeXmlError(
            "a text node (an inline attachment) is larger than libxml2's 10 MB limit: "
            "large files travel outside the package",
            Location(line, column),
        )
    if "Excessive depth" in message or "nesting" in message.lower():
        return UnsafeXmlError(f"elements nested too deeply: {message}", Location(line, column))
    return MalformedXmlError(f"not well-formed XML: {message}", Location(line, column))


def _undeclared_prefixes(entries: list[etree._LogEntry]) -> dict[str, Location] | None:
    """Prefixes used without a declaration, if those are the only faults; else None."""
    found: dict[str, Location] = {}
    for entry in entries:
        match = _UNDECLARED_PREFIX.search(entry.message)
        if match is None:
            return None
        found.setdefault(match.group(1), Location(entry.line, entry.column))
    return found or None


def _parse(data: bytes, lenient: bool) -> etree._Element:
    parser = _parser()
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise _syntax_error(error, list(parser.error_log), lenient) from None


def _declare_on_root(data: bytes, prefixes: dict[str, Location]) -> tuple[bytes, list[str]]:
    match = _ROOT_NAME.search(data, data.find(b"<", data.find(b"?>") + 1))
    if match is None:
        raise MalformedXmlError("no root element found", Location(line=1, column=1))
    declarations, repairs = b"", []
    for prefix, where in prefixes.items():
        uri = KNOWN_PREFIXES.get(prefix, f"urn:lienthong:undeclared:{prefix}")
        declarations += f' xmlns:{prefix}="{uri}"'.encode()
        repairs.append(
            f"declared namespace prefix '{prefix}' as {uri}: used without a declaration ({where})"
        )
    return data[: match.end()] + declarations + data[match.end() :], repairs


def parse_canonical(data: bytes) -> etree._Element:
    """Parse the canonical form this process made of a tree `parse_xml` accepted: the same
    parser, without checks its source already passed (canonicalization adds no DTD and no
    depth, though it may add bytes)."""
    return etree.fromstring(data, _parser())


def parse_xml(data: bytes, limits: ParseLimits) -> ParsedXml:
    """Parse untrusted bytes into an element tree, or raise an error saying what and where."""
    if len(data) > limits.max_bytes:
        raise UnsafeXmlError(
            f"input is {len(data):,} bytes, above the limit of {limits.max_bytes:,} bytes"
        )
    _refuse_dtd(data)
    _refuse_prolog_junk(data)
    repairs: list[str] = []
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        entries = list(parser.error_log)
        prefixes = _undeclared_prefixes(entries) if limits.lenient else None
        if prefixes is None:
            raise _syntax_error(error, entries, limits.lenient) from None
        data, repairs = _declare_on_root(data, prefixes)
        root = _parse(data, limits.lenient)
    _check_document(root)
    _check_depth(root, limits.max_depth)
    return ParsedXml(root=root, repairs=repairs)
