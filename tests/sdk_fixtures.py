"""Where the shared conformance fixtures are: ../shared beside the checkout (as on CI)."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
EDXML_SDK = SHARED / "edxml-sdk"
DIRECTORY_CSV = SHARED / "directory" / "nam-dinh.csv"

MALFORMED = {
    "edoc.edxml": "Namespace prefix xlink for href on Reference is not defined",
    "edoc_new.edxml": "4 stray byte(s) b'1212' before the XML declaration",
}
WELL_FORMED = sorted(p.name for p in EDXML_SDK.glob("*.edxml") if p.name not in MALFORMED)


def sdk_package(name: str) -> bytes:
    """The bytes of one fixture; a missing fixture fails the test loudly."""
    return (EDXML_SDK / name).read_bytes()
