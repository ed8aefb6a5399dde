"""Agency codes of Decision 20/2020/QĐ-TTg: ``AAA.BB.CC.XNN``, read right to left.

``XNN`` is level 1 (G = ministry or central body, H = province), ``CC`` level 2 (department or
district), ``BB`` level 3 (commune), ``AAA`` level 4. Real traffic breaks the pattern
(``28.22.H17``, ``vxp.saas.03``), and the 2025 merger of provinces means a code no longer tells
its parent: the directory stores parents explicitly. So non-conforming codes are accepted and
flagged as legacy, never rejected, as long as they are usable identifiers at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from schemas.errors import AgencyCodeError

_STANDARD = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z])(\d{2})$")
# Usable identifier: what may appear as an OrganId and as part of a queue name.
_USABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
MAX_LENGTH = 64


class AgencyLevel(IntEnum):
    """Depth in the administrative tree, 1 = ministry or province."""

    CENTRAL_OR_PROVINCE = 1
    DEPARTMENT_OR_DISTRICT = 2
    COMMUNE = 3
    UNIT = 4


@dataclass(frozen=True)
class AgencyCode:
    """A parsed agency code; ``legacy`` when it does not follow the 2020 pattern."""

    value: str
    legacy: bool
    level: AgencyLevel | None = None
    group: str | None = None  # level-1 letter: G central, H province, others as issued

    def __str__(self) -> str:
        return self.value

    @property
    def warning(self) -> str | None:
        """A sentence for reports when the code is legacy, else None."""
        if not self.legacy:
            return None
        return f"agency code '{self.value}' does not follow the AAA.BB.CC.XNN pattern (legacy)"


def _level(parts: tuple[str, str, str]) -> AgencyLevel:
    level4, level3, level2 = parts
    if level4 != "000":
        return AgencyLevel.UNIT
    if level3 != "00":
        return AgencyLevel.COMMUNE
    if level2 != "00":
        return AgencyLevel.DEPARTMENT_OR_DISTRICT
    return AgencyLevel.CENTRAL_OR_PROVINCE


def parse_agency_code(raw: str) -> AgencyCode:
    """Parse a code; legacy codes come back flagged, unusable strings raise AgencyCodeError."""
    value = raw.strip()
    match = _STANDARD.match(value)
    if match:
        level4, level3, level2, letter, _ = match.groups()
        return AgencyCode(value, legacy=False, level=_level((level4, level3, level2)), group=letter)
    if not value or value.lower() == "null":
        raise AgencyCodeError(f"'{raw}' is not an agency code: it is empty")
    if not _USABLE.match(value):
        raise AgencyCodeError(
            f"'{raw}' is not an agency code: use letters, digits, '.', '_' or '-' "
            f"(at most {MAX_LENGTH} characters)"
        )
    return AgencyCode(value, legacy=True)


def is_standard(raw: str) -> bool:
    """True when the code follows the 2020 pattern exactly."""
    return _STANDARD.match(raw.strip()) is not None
