"""Envelope settings shared by every lienthong process (``LIENTHONG_`` environment variables).

The hub and the adapter each have their own settings class; they embed these limits so that a
package is judged the same way everywhere. The CLI reads them for its defaults.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.safe_xml import ParseLimits

MIB = 1024 * 1024


class EnvelopeSettings(BaseSettings):
    """Limits and leniency for reading packages, and which legacy signatures to accept."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_", extra="ignore")

    max_package_bytes: int = Field(default=64 * MIB, gt=0)
    max_xml_depth: int = Field(default=64, gt=8, le=256)
    lenient: bool = False
    allow_legacy_sha1: bool = False

    def parse_limits(self, *, lenient: bool | None = None) -> ParseLimits:
        """The parser limits these settings describe, optionally with leniency overridden."""
        return ParseLimits(
            max_bytes=self.max_package_bytes,
            max_depth=self.max_xml_depth,
            lenient=self.lenient if lenient is None else lenient,
        )
