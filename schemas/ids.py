"""Identifiers that sort by the time they were made (UUID version 7, RFC 9562).

A random (version 4) UUID sends each new row to a random page of every index keyed by it:
with a few years of history those indexes outgrow the database's cache, and each insert
then reads a page from outside it and dirties one more page for the checkpoint to write
(whole, the first time after each checkpoint). A version 7 UUID begins with the time in
milliseconds, so new keys land at the end of the index, in pages already in memory. The
other 74 bits are random (122 in version 4): enough that none repeats or can be guessed,
though an id now tells when it was made, which every row it names says anyway.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62


def time_ordered_uuid() -> uuid.UUID:
    """A new UUID version 7: 48 bits of Unix time in ms, then 74 random bits."""
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10))
    rand_a, rand_b = random_bits >> 68, random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=(milliseconds << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT | rand_b)
