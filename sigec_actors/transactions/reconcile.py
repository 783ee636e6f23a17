"""Reconciliation: ask stations (GetTransactionStatus) about incomplete or orphaned transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID

import msgspec
import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.alerts.ports import Alerts
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
ALERT_KIND: Final = "transaction_incomplete"
END_LOST_KIND: Final = "transaction_end_lost"
MAX_SUSPECTS: Final = 10_000
"""Orphan suspects remembered for a second question (a boot or Available asks again anyway)."""


class Outcome(StrEnum):
    COMPLETE = "complete"  # the missing events arrived meanwhile: nothing to do
    WAIT = "wait"  # the station still queues messages: it will deliver them
    REVIEW = "review"  # nothing queued and still gaps: an operator decides (never billed)
    ONGOING = "ongoing"  # the station still runs the transaction: it is not orphaned
    CLOSED = "closed"  # the station has no such transaction: its Ended was lost, we closed it


def outcome(still_incomplete: bool, messages_in_queue: bool) -> Outcome:
    """What an answer to GetTransactionStatus means for an incomplete transaction."""
    if not still_incomplete:
        return Outcome.COMPLETE
    return Outcome.WAIT if messages_in_queue else Outcome.REVIEW


def end_outcome(ongoing: bool | None, messages_in_queue: bool) -> Outcome:
    """What an answer means for an Active transaction on an EVSE the station says is free.

    Closed only when the station says plainly it runs no such transaction and queues nothing
    (a queued Ended is on its way); a missing ongoingIndicator proves nothing.
    """
    if messages_in_queue:
        return Outcome.WAIT
    return Outcome.CLOSED if ongoing is False else Outcome.ONGOING


def due(asked_at: datetime | None, now: datetime, retry_after: timedelta) -> bool:
    """Ask again only `retry_after` after the last question (whatever its answer was)."""
    return asked_at is None or now - asked_at >= retry_after


def review_key(tx: Transaction) -> str:
    """The alerts.dedupe_key of a transaction's review: one open alert per transaction."""
    return f"{ALERT_KIND}:{tx.id}"


def end_lost_alert(tx: Transaction, details: dict[str, object]) -> NewAlert:
    """The operator alert of a transaction closed because its Ended was lost (review key)."""
    return NewAlert(
        severity=Severity.WARNING, kind=END_LOST_KIND, charge_point_id=tx.station_id,
        message=(f"transaction {tx.station_transaction_id} of {tx.station_id} was still Active"
                 " but the station no longer runs it (its Ended was lost): closed as"
                 " incomplete, review before billing"),
        details={**details, "transactionUuid": str(tx.id)}, dedupe_key=review_key(tx))


class Checked(msgspec.Struct, frozen=True, kw_only=True):
    """One reconciliation: the station's answer and what we made of it."""

    transaction_id: UUID
    outcome: Outcome
    messages_in_queue: bool
    ongoing: bool | None
    missing: SeqGaps


class Reconciler:
    """Asks stations about incomplete and orphaned transactions and records the answers.

    Periodic (`run_once`, from TransactionsWiring) for transactions incomplete for longer than
    `grace_s`, and at once (`committed`, an AfterCommit hook) when an Ended leaves gaps. Each
    answer is an audit entry; a permanent gap opens an operator alert. Billing keeps holding
    incomplete transactions (BillingService.hold_reason) whatever happens here.

    Orphans (`station_idle`, the ChargePoint's hook on an accepted BootNotification or an
    EVSE reported Available): an Active transaction there is asked about; if the station runs
    no such transaction and queues nothing, its Ended was lost: it is closed as incomplete
    (seq_gap, so never billed automatically), an operator alert opens and its token is free.
    A station that still queues messages is asked again by `run_once` after `retry_after_s`.
    Every transaction is asked at most once per `retry_after_s`, whoever asks.
    """

    def __init__(self, store: TransactionEventStore, incomplete: IncompleteTransactions,
                 audit: AuditLog, clock: Callable[[], datetime], *, grace_s: float = 60.0,
                 retry_after_s: float = 300.0, batch: int = 50,
                 background: Background | None = None, alerts: Alerts | None = None) -> None:
        self._store = store
        self._incomplete = incomplete
        self._audit = audit
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._retry = timedelta(seconds=retry_after_s)
        self._batch = batch
        self._bg = background if background is not None else Background()
        self._alerts = alerts
        self._asked: dict[UUID, datetime] = {}
        self._suspects: dict[UUID, Transaction] = {}
        self._idle_checks: set[tuple[str, int | None]] = set()
        self._commander: Commander | None = None

    def bind(self, commander: Commander | None) -> None:
        self._commander = commander

    def committed(self, tx: Transaction, event_type: TxEventType, duplicate: bool) -> None:
        """An Ended that leaves gaps: ask the station now (a task; never awaited here)."""
        if (tx.seq_gap and tx.status is TxStatus.ENDED and self._commander is not None
                and due(self._asked.get(tx.id), self._clock(), self._retry)):
            self._asked[tx.id] = self._clock()  # a retried Ended does not ask twice
            self._bg.spawn(self.check(tx), name=f"reconcile:{tx.station_id}")

    def station_idle(self, station_id: str, evse_id: int | None) -> None:
        """The station booted (`evse_id` None: every EVSE) or reported an EVSE Available:
        look for our Active transactions there in a task (never awaited here; one at a time
        per station and EVSE)."""
        key = (station_id, evse_id)
        if self._commander is None or key in self._idle_checks:
            return
        self._idle_checks.add(key)
        task = self._bg.spawn(self.idle_check(station_id, evse_id), name=f"orphans:{station_id}")
        task.add_done_callback(lambda _: self._idle_checks.discard(key))

    async def idle_check(self, station_id: str, evse_id: int | None) -> list[Checked]:
        """Ask about each Active transaction of the station (or EVSE) that is due."""
        try:
            active = await self._incomplete.active_on(station_id, evse_id, self._batch)
            return await self._ask_due(active, self.check_end)
        except DB_FAILURES as exc:  # database away: the next boot or Available asks again
            log.warning("orphan_check_failed", station_id=station_id,
                        error=f"{type(exc).__name__}: {exc}")
            return []

    async def run_once(self) -> list[Checked]:
        """Ask about every incomplete transaction, and every orphan suspect, that is due."""
        now = self._clock()
        self._forget_older_than(now - self._retry * 4)
        done = await self._ask_due(
            await self._incomplete.incomplete(now - self._grace, self._batch), self.check)
        again = [tx for tx in list(self._suspects.values())
                 if due(self._asked.get(tx.id), now, self._retry)]
        current = [c for c in [await self._still_active(tx) for tx in again] if c is not None]
        return done + await self._ask_due(current, self.check_end)

    async def _still_active(self, tx: Transaction) -> Transaction | None:
        """The suspect's row as it is now; None (and forgotten) once it is no longer Active."""
        current = await self._store.find(tx.station_id, tx.station_transaction_id)
        if current is None or current.status is not TxStatus.ACTIVE:
            self._suspects.pop(tx.id, None)  # its Ended arrived: nothing to ask
            return None
        return current

    async def _ask_due(self, txs: list[Transaction],
                       ask: Callable[[Transaction], Awaitable[Checked | None]]
                       ) -> list[Checked]:
        now, done = self._clock(), []
        for tx in txs:
            if due(self._asked.get(tx.id), now, self._retry):
                self._asked[tx.id] = now
                checked = await ask(tx)
                if checked is not None:
                    done.append(checked)
        return done

    async def check(self, tx: Transaction) -> Checked | None:
        """Ask the station about `tx`; None when it could not be asked (offline, timeout)."""
        reply = await self._ask(tx)
        return None if reply is None else await self._record(tx, reply)

    async def check_end(self, tx: Transaction) -> Checked | None:
        """Ask whether the station still runs the Active `tx`; close it if its Ended was lost.
        None when the station could not be asked."""
        reply = await self._ask(tx)
        if reply is None:
            return None
        result = end_outcome(reply.ongoing_indicator, reply.messages_in_queue)
        details = _details(tx, result, reply, SeqGaps())
        if result is Outcome.CLOSED:
            closed = await self._incomplete.close_lost(tx, self._clock())
            if closed is None:  # an event arrived meanwhile: look again later
                result = Outcome.WAIT
                details["outcome"] = result.value
        await self._audit.record(AuditEntry(
            actor_type="system", action=AUDIT_ACTION, target_type="transaction",
            target_id=str(tx.id), details=dict(details)))
        self._suspects.pop(tx.id, None)
        if result is Outcome.WAIT and len(self._suspects) < MAX_SUSPECTS:
            self._suspects[tx.id] = tx
        if result is Outcome.CLOSED:
            log.warning("transaction_end_lost", **details)
            await self._open_alert(tx, details)
        return Checked(transaction_id=tx.id, outcome=result, ongoing=reply.ongoing_indicator,
                       messages_in_queue=reply.messages_in_queue, missing=SeqGaps())

    async def _open_alert(self, tx: Transaction, details: dict[str, object]) -> None:
        if self._alerts is None:
            await self._incomplete.open_review(tx, details)
        else:
            await self._alerts.open(end_lost_alert(tx, details))

    async def _ask(self, tx: Transaction) -> GetTransactionStatusResponse | None:
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
        return reply

    async def _record(self, tx: Transaction, reply: GetTransactionStatusResponse) -> Checked:
        missing = await self._missing(tx)
        checked = Checked(transaction_id=tx.id, messages_in_queue=reply.messages_in_queue,
                          ongoing=reply.ongoing_indicator, missing=missing,
                          outcome=outcome(await self._gap(tx), reply.messages_in_queue))
        details = _details(tx, checked.outcome, reply, missing)
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


def _details(tx: Transaction, result: Outcome, reply: GetTransactionStatusResponse,
             missing: SeqGaps) -> dict[str, object]:
    return {"stationId": tx.station_id, "transactionId": tx.station_transaction_id,
            "evseId": tx.evse_id, "outcome": result.value,
            "messagesInQueue": reply.messages_in_queue,
            "ongoingIndicator": reply.ongoing_indicator, **missing.wire()}
