"""CostUpdated for stations showing the running cost: after the commit, rate-limited, unawaited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import structlog

from sigec_actors.domain.transactions import Transaction, TxEventType, TxStatus
from sigec_actors.ocpp.generated.v201 import CostUpdatedRequest
from sigec_actors.transactions.background import COMMAND_FAILURES, Background
from sigec_actors.transactions.ports import Commander
from sigec_actors.transactions.tariffs import centavos_to_wire

log = structlog.get_logger("transactions")


def cost_updated(tx: Transaction) -> CostUpdatedRequest:
    """The CostUpdated CALL for a running transaction (for stations that show the cost)."""
    return CostUpdatedRequest(total_cost=centavos_to_wire(tx.cost_centavos),
                              transaction_id=tx.station_transaction_id)


class CostSent(msgspec.Struct, frozen=True):
    """The last CostUpdated sent for a transaction."""

    at: datetime
    cost_centavos: int


def should_send(last: CostSent | None, tx: Transaction, now: datetime,
                min_interval: timedelta) -> bool:
    """Send for an active transaction whose cost changed, at most once per `min_interval`."""
    if tx.status is not TxStatus.ACTIVE:
        return False
    if last is None:
        return tx.cost_centavos > 0
    return last.cost_centavos != tx.cost_centavos and now - last.at >= min_interval


class CostNotifier:
    """AfterCommit hook: CostUpdated after a committed Updated event, never awaited.

    `enabled` is the `billing.send_cost_updated` switch (a station that does not support
    CostUpdated answers NotImplemented). OCPP 2.0.1 gives the running cost to the station only
    this way: a TransactionEvent answer carries totalCost once the transaction has ended.
    Commands go through `bind`'s commander; until bound, nothing is sent.
    """

    def __init__(self, clock: Callable[[], datetime], *, enabled: bool,
                 min_interval_s: float = 60.0, background: Background | None = None,
                 max_tracked: int = 10_000) -> None:
        self._clock = clock
        self.enabled = enabled
        self._interval = timedelta(seconds=min_interval_s)
        self._bg = background if background is not None else Background()
        self._max = max_tracked
        self._last: dict[UUID, CostSent] = {}
        self._commander: Commander | None = None

    def bind(self, commander: Commander | None) -> None:
        self._commander = commander

    def committed(self, tx: Transaction, event_type: TxEventType, duplicate: bool) -> None:
        commander = self._commander
        if tx.status is TxStatus.ENDED:
            self._last.pop(tx.id, None)
            return
        if (not self.enabled or commander is None or duplicate
                or event_type is not TxEventType.UPDATED):
            return
        now = self._clock()
        if not should_send(self._last.get(tx.id), tx, now, self._interval):
            return
        if tx.id not in self._last and len(self._last) >= self._max:
            del self._last[next(iter(self._last))]  # oldest first: a lost Ended cannot leak
        # counted before sending: a station that fails the command is not asked more often
        self._last[tx.id] = CostSent(now, tx.cost_centavos)
        self._bg.spawn(self._send(commander, tx), name=f"cost-updated:{tx.station_id}")

    async def _send(self, commander: Commander, tx: Transaction) -> None:
        try:
            await commander.send(tx.station_id, cost_updated(tx))
        except COMMAND_FAILURES as exc:
            log.info("cost_updated_not_delivered", station_id=tx.station_id,
                     transaction_id=tx.station_transaction_id,
                     error=f"{type(exc).__name__}: {exc}")
