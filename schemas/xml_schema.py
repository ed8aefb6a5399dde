"""The XSDs of what lienthong writes, shipped as package data, and validation against them."""

from __future__ import annotations

from functools import cache
from importlib.resources import as_file, files

from lxml import etree

from schemas.errors import Location, SchemaViolation

XSD_DIRECTORY = "xsd"
EDXML_XSD = "edxml.xsd"


XS = "http://www.w3.org/2001/XMLSchema"


def _schema_document() -> etree._ElementTree:
    with as_file(files("schemas") / XSD_DIRECTORY / EDXML_XSD) as path:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        return etree.parse(str(path), parser)


@cache
def known_element_names() -> frozenset[str]:
    """Every edXML element name the schema knows (readers also accept 'Business')."""
    names = {element.get("name") for element in _schema_document().iter(f"{{{XS}}}element")}
    return frozenset(name for name in names if name) | {"Business"}


@cache
def edxml_schema() -> etree.XMLSchema:
    """The compiled schema (imports resolved from the package's own files, never the network)."""
    return etree.XMLSchema(_schema_document())


def validate_against_xsd(root: etree._Element) -> None:
    """Raise SchemaViolation naming the first fault if the tree does not match the XSD."""
    schema = edxml_schema()
    if schema.validate(root):
        return
    error = schema.error_log[0]
    raise SchemaViolation(
        f"does not match edxml.xsd: {error.message}",
        Location(line=error.line or None, path=error.path),
    )
