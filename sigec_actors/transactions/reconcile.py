"""R3 reconciliation: ask stations about incomplete transactions (GetTransactionStatus)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

import msgspec
import structlog

from sigec_actors.domain.records import AuditEntry
from sigec_actors.domain.transactions import Transaction, TxEventType, TxStatus
from sigec_actors.ocpp.generated.v201 import (
    GetTransactionStatusRequest,
    GetTransactionStatusResponse,
)
from sigec_actors.ports import AuditLog, TransactionEventStore
from sigec_actors.transactions.background import COMMAND_FAILURES, Background
from sigec_actors.transactions.facts import facts_of, request_of_payload
from sigec_actors.transactions.fold import fold
from sigec_actors.transactions.gaps import SeqGaps
from sigec_actors.transactions.ports import Commander, IncompleteTransactions

log = structlog.get_logger("transactions")
AUDIT_ACTION = "transaction.reconcile"


class Outcome(StrEnum):
    COMPLETE = "complete"  # the missing events arrived meanwhile: nothing to do
    WAIT = "wait"  # the station still queues messages: it will deliver them
    REVIEW = "review"  # nothing queued and still gaps: an operator decides (never billed)


def outcome(still_incomplete: bool, messages_in_queue: bool) -> Outcome:
    """What an answer to GetTransactionStatus means for an incomplete transaction."""
    if not still_incomplete:
        return Outcome.COMPLETE
    return Outcome.WAIT if messages_in_queue else Outcome.REVIEW


def due(asked_at: datetime | None, now: datetime, retry_after: timedelta) -> bool:
    """Ask again only `retry_after` after the last question (whatever its answer was)."""
    return asked_at is None or now - asked_at >= retry_after


class Checked(msgspec.Struct, frozen=True, kw_only=True):
    """One reconciliation: the station's answer and what we made of it."""

    transaction_id: UUID
    outcome: Outcome
    messages_in_queue: bool
    ongoing: bool | None
    missing: SeqGaps


class Reconciler:
    """Asks stations about incomplete transactions and records the answers.

    Periodic (`run_once`, from TransactionsWiring) for transactions incomplete for longer than
    `grace_s`, and at once (`committed`, an AfterCommit hook) when an Ended leaves gaps. Each
    answer is an audit entry; a permanent gap opens an operator alert. Billing keeps holding
    incomplete transactions (BillingService.hold_reason) whatever happens here.
    """

    def __init__(self, store: TransactionEventStore, incomplete: IncompleteTransactions,
                 audit: AuditLog, clock: Callable[[], datetime], *, grace_s: float = 60.0,
                 retry_after_s: float = 300.0, batch: int = 50,
                 background: Background | None = None) -> None:
        self._store = store
        self._incomplete = incomplete
        self._audit = audit
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._retry = timedelta(seconds=retry_after_s)
        self._batch = batch
        self._bg = background if background is not None else Background()
        self._asked: dict[UUID, datetime] = {}
        self._commander: Commander | None = None

    def bind(self, commander: Commander | None) -> None:
        self._commander = commander

    def committed(self, tx: Transaction, event_type: TxEventType, duplicate: bool) -> None:
        """An Ended that leaves gaps: ask the station now (a task; never awaited here)."""
        if (tx.seq_gap and tx.status is TxStatus.ENDED and self._commander is not None
                and due(self._asked.get(tx.id), self._clock(), self._retry)):
            self._asked[tx.id] = self._clock()  # a retried Ended does not ask twice
            self._bg.spawn(self.check(tx), name=f"reconcile:{tx.station_id}")

    async def run_once(self) -> list[Checked]:
        """Ask about every incomplete transaction that is due; returns the answers."""
        now = self._clock()
        self._forget_older_than(now - self._retry * 4)
        done = []
        for tx in await self._incomplete.incomplete(now - self._grace, self._batch):
            if due(self._asked.get(tx.id), now, self._retry):
                self._asked[tx.id] = now
                checked = await self.check(tx)
                if checked is not None:
                    done.append(checked)
        return done

    async def check(self, tx: Transaction) -> Checked | None:
        """Ask the station about `tx`; None when it could not be asked (offline, timeout)."""
        commander = self._commander
        if commander is None:
            return None
        try:
            reply = await commander.send(tx.station_id, GetTransactionStatusRequest(
                transaction_id=tx.station_transaction_id))
        except COMMAND_FAILURES as exc:
            log.info("reconcile_not_asked", station_id=tx.station_id,
                     transaction_id=tx.station_transaction_id,
                     error=f"{type(exc).__name__}: {exc}")
            return None
        assert isinstance(reply, GetTransactionStatusResponse)
        return await self._record(tx, reply)

    async def _record(self, tx: Transaction, reply: GetTransactionStatusResponse) -> Checked:
        missing = await self._missing(tx)
        checked = Checked(transaction_id=tx.id, messages_in_queue=reply.messages_in_queue,
                          ongoing=reply.ongoing_indicator, missing=missing,
                          outcome=outcome(await self._gap(tx), reply.messages_in_queue))
        details: dict[str, object] = {
            "stationId": tx.station_id, "transactionId": tx.station_transaction_id,
            "outcome": checked.outcome.value, "messagesInQueue": checked.messages_in_queue,
            "ongoingIndicator": checked.ongoing, **missing.wire()}
        await self._audit.record(AuditEntry(
            actor_type="system", action=AUDIT_ACTION, target_type="transaction",
            target_id=str(tx.id), details=dict(details)))
        if checked.outcome is Outcome.REVIEW:
            await self._incomplete.open_review(tx, details)
            log.warning("transaction_needs_review", **details)
        if checked.outcome is Outcome.COMPLETE:
            self._asked.pop(tx.id, None)
        return checked

    async def _missing(self, tx: Transaction) -> SeqGaps:
        """The seqNos still missing, from the stored events as they are now."""
        stored = await self._store.events(tx.station_id, tx.station_transaction_id)
        if not stored:
            return SeqGaps()
        return fold(facts_of(request_of_payload(s.payload)) for s in stored).missing

    async def _gap(self, tx: Transaction) -> bool:
        """The row's flag as it is now (also set when no Started was seen)."""
        current = await self._store.find(tx.station_id, tx.station_transaction_id)
        return current is not None and current.seq_gap

    def _forget_older_than(self, cutoff: datetime) -> None:
        for tx_id in [k for k, at in self._asked.items() if at < cutoff]:
            del self._asked[tx_id]
