"""PostgreSQL TransactionEvent store: dedupe on (station, transactionId, seqNo), one commit.

Two ways to store an event, both committing it (with its transaction row, meter values and
outbox rows) before the caller hears back, and both batching concurrent events of different
transactions into one statement and one commit (group commit):

- `write` (optimistic, what TransactionService uses): the caller decided on the row it read;
  ONE statement in autocommit writes the batch, each event guarded by its row's version
  (pg_tx_write); an event whose row moved meanwhile raises StaleHistory and is decided again.
- `record` (the TransactionEventStore port): the store locks the batch's transactions
  (advisory locks, in key order, sent with BEGIN), reads their rows and stored answers,
  calls each `decide`, writes the batch in one statement and commits: four round trips.

If a shared statement fails, each of its events runs again alone, so a failing event fails
alone. Connections come from a ConnectionLease (no reset round trip between batches).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import DB_FAILURES, ForeignKeyViolation, UniqueViolation, to_record
from sigec_actors.adapters.pg_lease import ConnectionLease, LeasedPool
from sigec_actors.adapters.pg_remote_starts import PgRemoteStarts
from sigec_actors.adapters.pg_tx_write import WRITE, Write, write_args
from sigec_actors.batching import Batcher
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    RemoteStart,
    StoredTransactionEvent,
    Transaction,
    TransactionEventIn,
    TxDecision,
    TxRecordResult,
)
from sigec_actors.errors import SigecError
from sigec_actors.ports import DbConn, DbPool
from sigec_actors.transactions.errors import StaleHistory
from sigec_actors.transactions.tariffs import Tariff

_TX = ("SELECT *, charge_point_id AS station_id FROM transactions"
       " WHERE charge_point_id = $1 AND station_transaction_id = $2")
_READ = (  # per event: the answer stored for its seqNo (if any), its transaction row (if any)
    "SELECT k.i AS batch_ord, d.response AS stored_response, t.*,"
    " t.charge_point_id AS station_id"
    " FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS k(s, x, q, i)"
    " LEFT JOIN transactions t ON t.charge_point_id = k.s AND t.station_transaction_id = k.x"
    " LEFT JOIN transaction_events d ON d.charge_point_id = k.s"
    " AND d.station_transaction_id = k.x AND d.seq_no = k.q ORDER BY k.i")
_SNAPSHOT = (  # per key: the transaction row and its events' payloads in seqNo order
    "SELECT k.i AS batch_ord, t.*, t.charge_point_id AS station_id,"
    " (SELECT jsonb_agg(e.payload ORDER BY e.seq_no) FROM transaction_events e"
    " WHERE e.charge_point_id = k.s AND e.station_transaction_id = k.x) AS stored_payloads"
    " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(s, x, i)"
    " LEFT JOIN transactions t ON t.charge_point_id = k.s AND t.station_transaction_id = k.x"
    " ORDER BY k.i")
_TARIFFS = (  # per station: its own and the network-wide tariffs (as TariffRepository.candidates)
    "SELECT k.i AS batch_ord, t.* FROM unnest($1::text[]) WITH ORDINALITY AS k(s, i)"
    " JOIN tariffs t ON t.charge_point_id = k.s OR t.charge_point_id IS NULL"
    " ORDER BY k.i, t.valid_from")
_OWNERS = (  # per (idToken, type): the user holding it (as IdTokenRepository.find)
    "SELECT k.i AS batch_ord, o.user_id FROM unnest($1::text[], $2::text[])"
    " WITH ORDINALITY AS k(tok, typ, i) JOIN id_tokens o ON o.id_token = k.tok AND o.type = k.typ")
Item = tuple[TransactionEventIn, Decide]
Outcome = TxRecordResult | BaseException
Key = tuple[str, str]
Snapshot = tuple[Transaction | None, list[dict[str, Any]]]
Lookup = tuple[str, tuple[str, str] | None]
Found = tuple[list[Tariff], UUID | None]


class PgTransactionEventStore:
    """TransactionEventStore on PostgreSQL: event, transaction, meter values, outbox together.

    `group_commit`: concurrent events of different transactions commit together (at most
    `max_batch` per statement, `max_inflight` such statements at once).
    """

    def __init__(self, pool: DbPool, *, group_commit: bool = True, max_batch: int = 64,
                 max_inflight: int = 3, timeout_s: float = 5.0) -> None:
        self._pool = pool
        self._lease = (pool.lease if isinstance(pool, LeasedPool)
                       else ConnectionLease(pool, size=max_inflight + 1))
        self._timeout = timeout_s
        self._batcher: Batcher[Item, TxRecordResult] | None = Batcher(
            self._record_many, max_batch=max_batch, max_inflight=max_inflight,
            key=_key) if group_commit else None
        self._writes: Batcher[Write, TxRecordResult] = Batcher(
            self._write_many, max_batch=max_batch if group_commit else 1,
            max_inflight=max_inflight, key=_key)
        self._stored: Batcher[TransactionEventIn, TxRecordResult] = Batcher(
            self._stored_many, max_batch=max_batch, max_inflight=max_inflight)
        self._reads: Batcher[Key, Snapshot] = Batcher(
            self._snapshots, max_batch=max_batch, max_inflight=max_inflight)
        self._lookups: Batcher[Lookup, Found] = Batcher(
            self._lookup_many, max_batch=max_batch, max_inflight=max_inflight)
        self._remote = PgRemoteStarts(pool)

    async def record(self, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
        if self._batcher is None:
            return _raised(await self._record_alone((event, decide)))
        return await self._batcher.submit((event, decide))

    async def write(self, event: TransactionEventIn, expected: Transaction | None,
                    decision: TxDecision) -> TxRecordResult:
        """Commit `decision` for the new event `event` if its transaction row is still
        `expected` (None: if there is none yet); else raise StaleHistory and write nothing."""
        return await self._writes.submit((event, expected, decision))

    async def stored(self, event: TransactionEventIn) -> TxRecordResult:
        """The answer stored for an event seen before (a duplicate) and its transaction row;
        StaleHistory if it is not stored."""
        return await self._stored.submit(event)

    async def remember_remote_start(self, start: RemoteStart) -> bool:
        return await self._remote.remember_remote_start(start)

    async def claim_remote_start(self, station_id: str, remote_start_id: int,
                                 station_transaction_id: str) -> RemoteStart | None:
        return await self._remote.claim_remote_start(station_id, remote_start_id,
                                                     station_transaction_id)

    async def forget_remote_start(self, station_id: str, remote_start_id: int) -> None:
        await self._remote.forget_remote_start(station_id, remote_start_id)

    async def aclose(self) -> None:
        """Give the connections kept between batches back to the pool."""
        await self._lease.aclose()

    async def get(self, transaction_id: UUID) -> Transaction | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT *, charge_point_id AS station_id FROM transactions WHERE id = $1",
                transaction_id)
        return None if row is None else to_record(row, Transaction)

    async def find(self, station_id: str, station_transaction_id: str) -> Transaction | None:
        async with self._pool.acquire() as conn:
            return await _find(conn, station_id, station_transaction_id)

    async def snapshot(self, station_id: str, station_transaction_id: str) -> Snapshot:
        """The transaction row (None if new) and its stored events' payloads in seqNo order;
        concurrent calls share one query."""
        return await self._reads.submit((station_id, station_transaction_id))

    async def lookups(self, station_id: str, token: tuple[str, str] | None) -> Found:
        """The station's tariff candidates (valid_from order) and the owner of `token`
        (idToken, type); concurrent calls share one round trip per table."""
        return await self._lookups.submit((station_id, token))

    async def events(self, station_id: str,
                     station_transaction_id: str) -> list[StoredTransactionEvent]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM transaction_events WHERE charge_point_id = $1"
                " AND station_transaction_id = $2 ORDER BY seq_no",
                station_id, station_transaction_id)
        return [to_record(r, StoredTransactionEvent) for r in rows]

    async def meter_values(self, transaction_id: UUID) -> list[MeterValueIn]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM meter_values WHERE transaction_id = $1 ORDER BY sampled_at, id",
                transaction_id)
        return [to_record(r, MeterValueIn) for r in rows]

    async def _lookup_many(self, items: Sequence[Lookup]) -> list[Found]:
        tokens = [t if t is not None else (None, None) for _, t in items]
        async with self._lease.acquire() as conn:
            tariffs = await conn.fetch(_TARIFFS, [s for s, _ in items])
            owners = await conn.fetch(_OWNERS, [t[0] for t in tokens], [t[1] for t in tokens])
        found: list[Found] = [([], None) for _ in items]
        for row in tariffs:
            found[row["batch_ord"] - 1][0].append(to_record(row, Tariff))
        for row in owners:
            found[row["batch_ord"] - 1] = (found[row["batch_ord"] - 1][0], row["user_id"])
        return found

    async def _snapshots(self, keys: Sequence[Key]) -> list[Snapshot]:
        async with self._lease.acquire() as conn:
            rows = await conn.fetch(_SNAPSHOT, [k[0] for k in keys], [k[1] for k in keys])
        out: list[Snapshot] = []
        for row in rows:
            values = dict(row)
            del values["batch_ord"]
            payloads: list[dict[str, Any]] = values.pop("stored_payloads") or []
            out.append((None, []) if values["id"] is None
                       else (to_record(values, Transaction), payloads))
        return out

    async def _stored_many(self, events: Sequence[TransactionEventIn]) -> list[Outcome]:
        async with self._lease.acquire() as conn:
            rows = await _read(conn, events)
        out: list[Outcome] = []
        for event, row in zip(events, rows, strict=True):
            stored, current = _parse_read(row)
            out.append(StaleHistory(event.station_id, event.station_transaction_id)
                       if stored is None else
                       TxRecordResult(duplicate=True, response=stored, transaction=current))
        return out

    async def _write_many(self, writes: Sequence[Write]) -> list[Outcome]:
        """One guarded statement for all `writes` (distinct transactions); if it fails, each
        write runs again alone."""
        if len(writes) == 1:
            return [await self._write_alone(writes[0])]
        try:
            async with asyncio.timeout(self._timeout), self._lease.acquire() as conn:
                rows = await conn.fetch(WRITE, *write_args(writes))
        except TimeoutError as exc:  # the database hangs: running them again would too
            return [exc] * len(writes)
        except DB_FAILURES:  # one event's bad row fails the statement: each answers alone
            return [await self._write_alone(w) for w in writes]
        return _written(writes, rows)

    async def _write_alone(self, write: Write) -> Outcome:
        event = write[0]
        try:
            async with asyncio.timeout(self._timeout), self._lease.acquire() as conn:
                rows = await conn.fetch(WRITE, *write_args([write]))
        except ForeignKeyViolation as exc:
            return _unknown(event, exc)
        except UniqueViolation:  # the seqNo is stored after all: the caller reads it again
            return StaleHistory(event.station_id, event.station_transaction_id)
        except DB_FAILURES as exc:  # the caller raises it as store unavailable
            return exc
        return _written([write], rows)[0]

    async def _record_many(self, items: Sequence[Item]) -> list[Outcome]:
        """One DB transaction for all `items` (distinct transactions, locked in key order); on
        a database error it is rolled back and every item runs again alone."""
        if len(items) == 1:
            return [await self._record_alone(items[0])]
        try:
            async with asyncio.timeout(self._timeout), self._lease.acquire() as conn:
                return await _locked(conn, items)
        except TimeoutError as exc:  # the database hangs: running them again would too
            return [exc] * len(items)
        except DB_FAILURES:  # one event's bad row fails the batch: each answers alone
            return [await self._record_alone(item) for item in items]

    async def _record_alone(self, item: Item) -> Outcome:
        """One event in its own DB transaction; its failure is its own result."""
        try:
            async with asyncio.timeout(self._timeout), self._lease.acquire() as conn:
                return (await _locked(conn, [item]))[0]
        except ForeignKeyViolation as exc:
            return _unknown(item[0], exc)
        except DB_FAILURES as exc:  # the caller raises it as store unavailable
            return exc


def _key(item: Item | Write) -> tuple[str, str]:
    return item[0].station_id, item[0].station_transaction_id


def _unknown(event: TransactionEventIn, cause: BaseException) -> UnknownStation:
    err = UnknownStation(event.station_id)
    err.__cause__ = cause
    return err


def _raised(outcome: Outcome) -> TxRecordResult:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def _find(conn: DbConn, station_id: str, station_tx_id: str) -> Transaction | None:
    row = await conn.fetchrow(_TX, station_id, station_tx_id)
    return None if row is None else to_record(row, Transaction)


def lock_key(station_id: str, station_transaction_id: str) -> int:
    """The transaction's advisory lock key: a stable signed 64-bit hash of its identity."""
    digest = hashlib.blake2b(f"tx/{station_id}/{station_transaction_id}".encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def begin_and_lock(events: Sequence[TransactionEventIn]) -> str:
    """BEGIN and the events' transaction locks in key order (so two batches never wait for
    each other in a cycle), as one simple query: integers only, nothing quoted."""
    keys = sorted({lock_key(e.station_id, e.station_transaction_id) for e in events})
    listed = ",".join(map(str, keys))  # integers only: nothing to quote
    return ("BEGIN; SELECT pg_advisory_xact_lock(k)"  # noqa: S608
            f" FROM unnest(ARRAY[{listed}]::bigint[]) AS k")


async def _read(conn: DbConn, events: Sequence[TransactionEventIn]) -> list[Any]:
    return await conn.fetch(_READ, [e.station_id for e in events],
                            [e.station_transaction_id for e in events],
                            [e.seq_no for e in events])


def _parse_read(row: Any) -> tuple[dict[str, Any] | None, Transaction | None]:
    values = dict(row)
    del values["batch_ord"]
    stored = values.pop("stored_response")
    return stored, None if values["id"] is None else to_record(values, Transaction)


async def _locked(conn: DbConn, items: Sequence[Item]) -> list[Outcome]:
    """Store events of distinct transactions on `conn` in one DB transaction, under their
    locks; an exception from an item's `decide` is that item's outcome (nothing written)."""
    # Serialise events of one transaction (any node): the duplicate check and `decide` then
    # see the latest state; the row guard and unique keys stay the final word.
    await conn.execute(begin_and_lock([e for e, _ in items]))
    try:
        outcomes: list[Outcome | None] = []
        writes: list[Write] = []
        for (event, decide), row in zip(items, await _read(conn, [e for e, _ in items]),
                                        strict=True):
            stored, current = _parse_read(row)
            if stored is not None:
                outcomes.append(TxRecordResult(duplicate=True, response=stored,
                                               transaction=current))
                continue
            try:
                writes.append((event, current, decide(current)))
                outcomes.append(None)
            except SigecError as exc:  # e.g. StaleHistory: this caller looks again
                outcomes.append(exc)
        written = (_written(writes, await conn.fetch(WRITE, *write_args(writes))) if writes
                   else [])
        await conn.execute("COMMIT")
    except Exception:
        with contextlib.suppress(*DB_FAILURES):  # a broken connection goes back to the pool
            await conn.execute("ROLLBACK")
        raise
    done = iter(written)
    return [next(done) if o is None else o for o in outcomes]


def _written(writes: Sequence[Write], rows: Sequence[Any]) -> list[Outcome]:
    """Each write's result: its stored row, or StaleHistory when its guard held it back."""
    by_index = {row["i"]: row for row in rows}
    out: list[Outcome] = []
    for i, (event, _, decision) in enumerate(writes, 1):
        row = by_index.get(i)
        out.append(StaleHistory(event.station_id, event.station_transaction_id) if row is None
                   else TxRecordResult(duplicate=False, response=decision.response,
                                       transaction=to_record(row, Transaction)))
    return out
