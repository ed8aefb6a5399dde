"""The XSDs of what lienthong writes, shipped as package data, and validation against them."""

from __future__ import annotations

from functools import cache
from importlib.resources import as_file, files

from lxml import etree

from schemas.errors import Location, SchemaViolation

XSD_DIRECTORY = "xsd"
EDXML_XSD = "edxml.xsd"


@cache
def edxml_schema() -> etree.XMLSchema:
    """The compiled schema (imports resolved from the package's own files, never the network)."""
    with as_file(files("schemas") / XSD_DIRECTORY / EDXML_XSD) as path:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        return etree.XMLSchema(etree.parse(str(path), parser))


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
