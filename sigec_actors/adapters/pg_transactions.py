"""PostgreSQL TransactionEvent store: dedupe on (station, transactionId, seqNo), one commit.

Round trips per new event: the advisory lock, one read (stored answer + transaction row), one
write (transaction upsert, event row, meter values and outbox rows in a single statement).
Concurrent events of different transactions share one DB transaction (group commit): every
caller is answered only after that commit; if the shared transaction fails, each of its events
is run again alone, so a failing event fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import ForeignKeyViolation, to_record, transaction
from sigec_actors.batching import Batcher
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    StoredTransactionEvent,
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxDecision,
    TxRecordResult,
)
from sigec_actors.ports import DbConn, DbPool
from sigec_actors.transactions.tariffs import Tariff

_STATE_FIELDS: tuple[str, ...] = TransactionState.__struct_fields__
_N = len(_STATE_FIELDS)
_TX = ("SELECT *, charge_point_id AS station_id FROM transactions"
       " WHERE charge_point_id = $1 AND station_transaction_id = $2")
_LOCK = (  # in key order, so two DB transactions never wait for each other in a cycle
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
    " FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) AS keys")
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
_E = _N + 3  # first parameter after the state: the event's columns, meter values, outbox
_WRITE = (
    "WITH tx AS (INSERT INTO transactions (charge_point_id, station_transaction_id, "  # noqa: S608 -- columns are struct fields
    + ", ".join(_STATE_FIELDS) + ") VALUES ($1, $2, "
    + ", ".join(f"${i + 3}" for i in range(_N))
    + ") ON CONFLICT (charge_point_id, station_transaction_id) DO UPDATE SET "
    + ", ".join(f"{f} = EXCLUDED.{f}" for f in _STATE_FIELDS)
    + " RETURNING *),"  # noqa: S608 -- constant text and parameter numbers only
    " ev AS (INSERT INTO transaction_events (charge_point_id, station_transaction_id, seq_no,"
    " transaction_id, event_type, trigger_reason, occurred_at, offline, payload, response)"
    f" SELECT $1, $2, ${_E}, tx.id, ${_E + 1}, ${_E + 2}, ${_E + 3}, ${_E + 4}, ${_E + 5},"
    f" ${_E + 6} FROM tx RETURNING id, transaction_id),"
    " mv AS (INSERT INTO meter_values (charge_point_id, transaction_id, event_id, evse_id,"
    " sampled_at, measurand, phase, location, context, unit, value)"
    " SELECT $1, ev.transaction_id, ev.id, m.e, m.s, m.m, m.p, m.l, m.c, m.u, m.v FROM ev,"
    f" unnest(${_E + 7}::int[], ${_E + 8}::timestamptz[], ${_E + 9}::text[],"
    f" ${_E + 10}::text[], ${_E + 11}::text[], ${_E + 12}::text[], ${_E + 13}::text[],"
    f" ${_E + 14}::numeric[]) AS m(e, s, m, p, l, c, u, v)),"
    " ob AS (INSERT INTO event_outbox (subject, payload)"
    f" SELECT s, p FROM unnest(${_E + 15}::text[], ${_E + 16}::jsonb[]) AS o(s, p))"
    " SELECT *, charge_point_id AS station_id FROM tx")

Item = tuple[TransactionEventIn, Decide]
Outcome = TxRecordResult | BaseException
Key = tuple[str, str]
Snapshot = tuple[Transaction | None, list[dict[str, Any]]]
Lookup = tuple[str, tuple[str, str] | None]
Found = tuple[list[Tariff], UUID | None]


class PgTransactionEventStore:
    """TransactionEventStore on PostgreSQL: event, transaction, meter values, outbox together.

    `group_commit`: concurrent events of different transactions commit together (at most
    `max_batch` per DB transaction, `max_inflight` such transactions at once).
    """

    def __init__(self, pool: DbPool, *, group_commit: bool = True, max_batch: int = 64,
                 max_inflight: int = 3, timeout_s: float = 5.0) -> None:
        self._pool = pool
        self._timeout = timeout_s
        self._batcher: Batcher[Item, TxRecordResult] | None = Batcher(
            self._record_many, max_batch=max_batch, max_inflight=max_inflight,
            key=_key) if group_commit else None
        self._reads: Batcher[Key, Snapshot] = Batcher(
            self._snapshots, max_batch=max_batch, max_inflight=max_inflight)
        self._lookups: Batcher[Lookup, Found] = Batcher(
            self._lookup_many, max_batch=max_batch, max_inflight=max_inflight)

    async def record(self, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
        if self._batcher is None:
            return _raised(await self._record_alone((event, decide)))
        return await self._batcher.submit((event, decide))

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

    async def _lookup_many(self, items: Sequence[Lookup]) -> list[Found]:
        tokens = [t if t is not None else (None, None) for _, t in items]
        async with self._pool.acquire() as conn:
            tariffs = await conn.fetch(_TARIFFS, [s for s, _ in items])
            owners = await conn.fetch(_OWNERS, [t[0] for t in tokens], [t[1] for t in tokens])
        found: list[Found] = [([], None) for _ in items]
        for row in tariffs:
            found[row["batch_ord"] - 1][0].append(to_record(row, Tariff))
        for row in owners:
            found[row["batch_ord"] - 1] = (found[row["batch_ord"] - 1][0], row["user_id"])
        return found

    async def _snapshots(self, keys: Sequence[Key]) -> list[Snapshot]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SNAPSHOT, [k[0] for k in keys], [k[1] for k in keys])
        out: list[Snapshot] = []
        for row in rows:
            values = dict(row)
            del values["batch_ord"]
            payloads: list[dict[str, Any]] = values.pop("stored_payloads") or []
            out.append((None, []) if values["id"] is None
                       else (to_record(values, Transaction), payloads))
        return out

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

    async def _record_many(self, items: Sequence[Item]) -> list[Outcome]:
        """One DB transaction for all `items` (distinct transactions, locked in key order); on
        a database error it is rolled back and every item runs again alone."""
        if len(items) == 1:
            return [await self._record_alone(items[0])]
        try:
            async with asyncio.timeout(self._timeout), transaction(self._pool) as conn:
                return await _record(conn, items)
        except TimeoutError as exc:  # the database hangs: running them again would too
            return [exc] * len(items)
        except Exception:  # whatever it was, each event now answers for itself
            return [await self._record_alone(item) for item in items]

    async def _record_alone(self, item: Item) -> Outcome:
        """One event in its own DB transaction; its failure is its own result."""
        try:
            async with asyncio.timeout(self._timeout), transaction(self._pool) as conn:
                return (await _record(conn, [item]))[0]
        except ForeignKeyViolation as exc:
            return _unknown(item[0], exc)
        except Exception as exc:  # the caller raises it (DB_FAILURES -> store unavailable)
            return exc


def _key(item: Item) -> tuple[str, str]:
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


async def _record(conn: DbConn, items: Sequence[Item]) -> list[Outcome]:
    """Store events of distinct transactions on `conn`, in its DB transaction; an exception
    from an item's `decide` is that item's outcome (nothing written for it)."""
    events = [e for e, _ in items]
    # Serialise events of one transaction (any node): the duplicate check and `decide` then
    # see the latest state; the unique key on transaction_events stays the final guard.
    await conn.execute(_LOCK, [f"tx/{e.station_id}/{e.station_transaction_id}" for e in events])
    rows = await conn.fetch(_READ, [e.station_id for e in events],
                            [e.station_transaction_id for e in events],
                            [e.seq_no for e in events])
    return [await _one(conn, event, decide, dict(row))
            for (event, decide), row in zip(items, rows, strict=True)]


async def _one(conn: DbConn, event: TransactionEventIn, decide: Decide,
               row: dict[str, Any]) -> Outcome:
    del row["batch_ord"]
    stored = row.pop("stored_response")
    current = None if row["id"] is None else to_record(row, Transaction)
    if stored is not None:
        return TxRecordResult(duplicate=True, response=stored, transaction=current)
    try:
        decision = decide(current)
    except Exception as exc:  # e.g. StaleHistory: this caller looks again
        return exc
    tx = to_record(await conn.fetchrow(_WRITE, *_write_args(event, decision)), Transaction)
    return TxRecordResult(duplicate=False, response=decision.response, transaction=tx)


def _write_args(event: TransactionEventIn, decision: TxDecision) -> list[Any]:
    values: dict[str, Any] = msgspec.structs.asdict(decision.state)
    mv = decision.meter_values
    return [
        event.station_id, event.station_transaction_id, *[values[f] for f in _STATE_FIELDS],
        event.seq_no, event.event_type.value, event.trigger_reason, event.occurred_at,
        event.offline, event.payload, decision.response,
        [m.evse_id for m in mv], [m.sampled_at for m in mv], [m.measurand for m in mv],
        [m.phase for m in mv], [m.location for m in mv], [m.context for m in mv],
        [m.unit for m in mv], [m.value for m in mv],
        [e.subject for e in decision.events], [e.payload for e in decision.events]]
