"""Hostile inputs every reader must refuse quickly, and a measurement of how quickly.

Used by the tests (each sample is refused with a clear error) and by ``lienthong bench-hostile``
(how long the refusal takes): a hub that takes seconds to say no can be flooded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from schemas.errors import EnvelopeError
from schemas.reader import read_package
from schemas.safe_xml import ParseLimits

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&secret;</edXML>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/edxml.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""


def billion_laughs(levels: int = 9) -> bytes:
    """Nested entities that would expand to 10**levels copies of 'lol'."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)
    ]
    subset = "\n ".join(entities)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE edXML [\n {subset}\n]>\n'
        f'<edXML a="&lol{levels};">&lol{levels};</edXML>'
    ).encode()


def deep_nesting(levels: int = 10_000) -> bytes:
    return b"<a>" * levels + b"</a>" * levels


def oversized(total: int = 200 * 1024 * 1024) -> bytes:
    padding = total - len(b"<edXML></edXML>")
    return b"<edXML>" + b" " * padding + b"</edXML>"


SAMPLES: dict[str, Callable[[], bytes]] = {
    "xxe": lambda: XXE,
    "billion-laughs": billion_laughs,
    "external-dtd": lambda: EXTERNAL_DTD,
    "200-MB input": oversized,
    "10,000-deep nesting": deep_nesting,
}


@dataclass(frozen=True)
class Refusal:
    sample: str
    size_bytes: int
    error: str
    message: str
    milliseconds: float


def time_refusal(name: str, data: bytes, limits: ParseLimits) -> Refusal:
    """Read one hostile sample and time the refusal; accepting it is a bug and raises."""
    start = time.perf_counter()
    try:
        read_package(data, limits)
    except EnvelopeError as error:
        elapsed = (time.perf_counter() - start) * 1000
        return Refusal(name, len(data), type(error).__name__, str(error), elapsed)
    raise AssertionError(f"hostile sample {name!r} was accepted")


def time_refusals(limits: ParseLimits | None = None) -> list[Refusal]:
    """Every sample, in strict and the given mode (lenient mode must not be weaker)."""
    chosen = limits or ParseLimits(lenient=True)
    return [time_refusal(name, make(), chosen) for name, make in SAMPLES.items()]
