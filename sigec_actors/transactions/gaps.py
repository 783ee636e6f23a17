"""Missing seqNos of a transaction as ranges: the cost follows the events, never a seqNo's size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import msgspec

MAX_LISTED: Final = 100
"""At most this many missing seqNos are spelled out in an event or an audit entry."""
MAX_RANGES: Final = 20
"""At most this many missing ranges are spelled out in an event or an audit entry."""


class SeqGaps(msgspec.Struct, frozen=True, kw_only=True):
    """The seqNos missing from a transaction: inclusive (first, last) ranges, ascending.

    There is at most one range between two stored events, so its size is bounded by the
    number of events stored, whatever seqNos a station sends.
    """

    ranges: tuple[tuple[int, int], ...] = ()
    count: int = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def first(self, n: int) -> tuple[int, ...]:
        """The first `n` missing seqNos (at most `n` numbers are made)."""
        out: list[int] = []
        for low, high in self.ranges:
            out.extend(range(low, min(high, low + n - len(out) - 1) + 1))
            if len(out) >= n:
                break
        return tuple(out)

    def wire(self) -> dict[str, Any]:
        """The bounded camelCase summary carried by transaction events and audit entries.

        `missingCount` is exact; `missingSeqNos` lists the first MAX_LISTED numbers and
        `missingRanges` the first MAX_RANGES [first, last] pairs (both complete when short).
        """
        return {"missingCount": self.count, "missingSeqNos": list(self.first(MAX_LISTED)),
                "missingRanges": [[low, high] for low, high in self.ranges[:MAX_RANGES]]}


def seq_gaps(seq_nos: Iterable[int], base: int) -> SeqGaps:
    """The seqNos from `base` to the highest of `seq_nos` that `seq_nos` lacks.

    O(len(seq_nos)) time and memory: gaps are ranges, never lists of numbers.
    """
    ranges: list[tuple[int, int]] = []
    expected = base
    for seq in sorted(set(seq_nos)):
        if seq > expected:
            ranges.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return SeqGaps(ranges=tuple(ranges), count=sum(high - low + 1 for low, high in ranges))
