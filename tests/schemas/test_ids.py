"""Time-ordered identifiers: UUID version 7 as RFC 9562 lays it out."""

from __future__ import annotations

import time
import uuid

from schemas.ids import time_ordered_uuid


def test_a_version_7_uuid_with_the_time_in_its_first_48_bits() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after
    assert uuid.UUID(str(made)) == made  # the usual text form


def test_later_ones_sort_after_earlier_ones_and_none_repeat() -> None:
    first = [time_ordered_uuid() for _ in range(5000)]
    time.sleep(0.002)
    later = [time_ordered_uuid() for _ in range(5000)]
    assert max(first) < min(later)
    assert len({*first, *later}) == 10_000
    # Within one millisecond the rest is random: 74 bits, not a counter.
    assert len({made.int & ((1 << 74) - 1) for made in first}) == 5000
