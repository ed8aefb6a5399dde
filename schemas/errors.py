"""The one error hierarchy of lienthong.

Every error says what is wrong and, where it applies, where: a line and column in the input or
an element path. Services map these classes to HTTP answers and to broker decisions in one
place each; code below them only raises.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in an input a fault is: line and column (1-based) and/or an element path."""

    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(f"at {self.path}")
        return " ".join(parts)


class LienthongError(Exception):
    """Base of every error lienthong raises on purpose."""

    code = "error"

    def __init__(self, message: str, where: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where and str(self.where) else self.message


class EnvelopeError(LienthongError):
    """A package that cannot be read as edXML."""

    code = "envelope"


class UnsafeXmlError(EnvelopeError):
    """Input refused before or while parsing: too large, too deep, DTDs or entities."""

    code = "unsafe-xml"


class MalformedXmlError(EnvelopeError):
    """Input that is not (namespace-)well-formed XML."""

    code = "malformed-xml"


class SchemaViolation(EnvelopeError):
    """Well-formed XML that is not a valid edXML package."""

    code = "schema"


class AgencyCodeError(LienthongError):
    """A string that cannot be used as an agency code at all."""

    code = "agency-code"


class SignatureError(LienthongError):
    """A package that cannot be signed or whose signature cannot be processed."""

    code = "signature"


class KeyMaterialError(LienthongError):
    """A key or certificate file that cannot be loaded or does not fit its pair."""

    code = "key-material"
