"""What this node last committed per transaction: the row and the facts of its events.

A hit saves the read of the transaction and of its whole history before the next event. It is
only a guess: the store compares the row it reads under the transaction's lock with the cached
one (updated_at included, touched by every write), so a change made elsewhere (another node, a
lost commit) ends in StaleHistory, and the service drops the entry and reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.transactions.facts import EventFacts

Key = tuple[str, str]


class HistoryCache:
    """(station, transactionId) -> (row, facts in seqNo order) after this node's commit.

    Bounded: cleared when `max_entries` is reached; an ended transaction is dropped.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._entries: dict[Key, tuple[Transaction, tuple[EventFacts, ...]]] = {}

    def get(self, key: Key) -> tuple[Transaction, list[EventFacts]] | None:
        hit = self._entries.get(key)
        return None if hit is None else (hit[0], list(hit[1]))

    def committed(self, key: Key, tx: Transaction, history: Sequence[EventFacts],
                  new: EventFacts) -> None:
        """`new` (as stored) was committed on top of `history`, giving the row `tx`."""
        if tx.status is TxStatus.ENDED:
            self._entries.pop(key, None)
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        events = sorted((*(h for h in history if h.seq_no != new.seq_no), new),
                        key=lambda e: e.seq_no)
        self._entries[key] = (tx, tuple(events))

    def forget(self, key: Key) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
