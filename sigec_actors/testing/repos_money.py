"""In-memory fakes of the money-path ports: the wallet ledger and the TransactionEvent store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

from msgspec.structs import asdict, replace

from sigec_actors.domain import errors as e
from sigec_actors.domain.ledger import (
    NON_NEGATIVE_KINDS,
    USER_KINDS,
    AccountActivity,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    NewJournalEntry,
    PostResult,
    check_balanced,
    same_postings,
)
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    RemoteStart,
    StoredTransactionEvent,
    Transaction,
    TransactionEventIn,
    TxRecordResult,
)
from sigec_actors.testing.repos import InMemoryOutbox, InMemoryStations, Now, utcnow


class InMemoryLedger:
    """LedgerRepository fake with the same rules: balanced, once per source key, no overdraw."""

    def __init__(self, now: Now = utcnow, outbox: InMemoryOutbox | None = None) -> None:
        self._now = now
        self.outbox = outbox or InMemoryOutbox()
        self._accounts: dict[UUID, LedgerAccount] = {}
        self._entries: dict[tuple[str, str], JournalEntry] = {}
        self._lines: list[tuple[UUID, AccountActivity]] = []  # (account, line), in post order

    async def account(self, kind: AccountKind, user_id: UUID | None = None,
                      currency: str = "BRL") -> LedgerAccount:
        if (kind in USER_KINDS) != (user_id is not None):
            raise ValueError(f"account kind {kind} and user id {user_id} do not fit")
        for a in self._accounts.values():
            if (a.kind, a.user_id, a.currency) == (kind, user_id, currency):
                return a
        acc = LedgerAccount(uuid.uuid4(), kind, user_id, currency,
                            kind not in NON_NEGATIVE_KINDS, self._now())
        self._accounts[acc.id] = acc
        return acc

    async def post(self, entry: NewJournalEntry,
                   events: Sequence[OutboxMessage] = ()) -> PostResult:
        check_balanced(entry)
        existing = self._entries.get((entry.source_type, entry.source_id))
        if existing is not None:
            if not same_postings(existing.postings, entry.postings):
                raise e.JournalEntryConflict(entry.source_type, entry.source_id)
            return PostResult(existing, created=False)
        self._check_accounts(entry)
        saved = JournalEntry(uuid.uuid4(), entry.source_type, entry.source_id, entry.currency,
                             entry.description, entry.postings, self._now())
        self._entries[(entry.source_type, entry.source_id)] = saved
        for p in entry.postings:
            self._lines.append((p.account_id, AccountActivity(
                saved.id, saved.source_type, saved.source_id, saved.description,
                p.amount_centavos, saved.created_at)))
        self.outbox.extend(events)
        return PostResult(saved, created=True)

    async def balance(self, account_id: UUID) -> int:
        return sum(line.amount_centavos for acc, line in self._lines if acc == account_id)

    async def entry_by_source(self, source_type: str, source_id: str) -> JournalEntry | None:
        return self._entries.get((source_type, source_id))

    async def history(self, account_id: UUID, limit: int = 50,
                      offset: int = 0) -> list[AccountActivity]:
        lines = [line for acc, line in reversed(self._lines) if acc == account_id]
        return lines[offset:offset + limit]

    def _check_accounts(self, entry: NewJournalEntry) -> None:
        missing = tuple(p.account_id for p in entry.postings if p.account_id not in self._accounts)
        if missing:
            raise e.UnknownAccount(missing)
        if any(self._accounts[p.account_id].currency != entry.currency for p in entry.postings):
            raise ValueError("posting currency does not match the entry currency")
        for p in entry.postings:
            acc = self._accounts[p.account_id]
            after = sum(line.amount_centavos for a, line in self._lines if a == acc.id)
            after += sum(q.amount_centavos for q in entry.postings if q.account_id == acc.id)
            if not acc.allow_negative and after < 0:
                raise e.InsufficientFunds(entry.source_type, entry.source_id)


class InMemoryTransactionEvents:
    """TransactionEventStore fake: dedupe on (station, transactionId, seqNo), stored responses."""

    def __init__(self, now: Now = utcnow, outbox: InMemoryOutbox | None = None,
                 stations: InMemoryStations | None = None) -> None:
        self._now = now
        self.outbox = outbox or InMemoryOutbox()
        self._stations = stations
        self._txs: dict[tuple[str, str], Transaction] = {}
        self._events: dict[tuple[str, str, int], StoredTransactionEvent] = {}
        self._meter: dict[UUID, list[MeterValueIn]] = {}
        self._remote: dict[tuple[str, int], RemoteStart] = {}

    async def record(self, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
        if self._stations is not None and await self._stations.get(event.station_id) is None:
            raise e.UnknownStation(event.station_id)
        key = (event.station_id, event.station_transaction_id)
        current = self._txs.get(key)
        stored = self._events.get((*key, event.seq_no))
        if stored is not None:
            return TxRecordResult(duplicate=True, response=stored.response, transaction=current)
        decision = decide(current)
        t = self._now()
        tx = Transaction(**asdict(decision.state), id=current.id if current else uuid.uuid4(),
                         station_id=event.station_id,
                         station_transaction_id=event.station_transaction_id,
                         created_at=current.created_at if current else t, updated_at=t)
        self._txs[key] = tx
        self._events[(*key, event.seq_no)] = StoredTransactionEvent(
            seq_no=event.seq_no, event_type=event.event_type, occurred_at=event.occurred_at,
            offline=event.offline, trigger_reason=event.trigger_reason, payload=event.payload,
            response=decision.response)
        self._meter.setdefault(tx.id, []).extend(decision.meter_values)
        self.outbox.extend(decision.events)
        return TxRecordResult(duplicate=False, response=decision.response, transaction=tx)

    async def remember_remote_start(self, start: RemoteStart) -> bool:
        return self._remote.setdefault((start.station_id, start.remote_start_id), start) is start

    async def claim_remote_start(self, station_id: str, remote_start_id: int,
                                 station_transaction_id: str) -> RemoteStart | None:
        start = self._remote.get((station_id, remote_start_id))
        if start is None or start.station_transaction_id not in (None, station_transaction_id):
            return None
        start = replace(start, station_transaction_id=station_transaction_id)
        self._remote[(station_id, remote_start_id)] = start
        return start

    async def forget_remote_start(self, station_id: str, remote_start_id: int) -> None:
        start = self._remote.get((station_id, remote_start_id))
        if start is not None and start.station_transaction_id is None:
            del self._remote[(station_id, remote_start_id)]

    async def get(self, transaction_id: UUID) -> Transaction | None:
        return next((t for t in self._txs.values() if t.id == transaction_id), None)

    async def find(self, station_id: str, station_transaction_id: str) -> Transaction | None:
        return self._txs.get((station_id, station_transaction_id))

    async def events(self, station_id: str,
                     station_transaction_id: str) -> list[StoredTransactionEvent]:
        return [ev for k, ev in sorted(self._events.items(), key=lambda kv: kv[0][2])
                if k[:2] == (station_id, station_transaction_id)]

    async def meter_values(self, transaction_id: UUID) -> list[MeterValueIn]:
        return sorted(self._meter.get(transaction_id, []), key=lambda m: m.sampled_at)


