"""PostgreSQL TransactionEvent store: dedupe on (station, transactionId, seqNo), one commit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import ForeignKeyViolation, to_record, transaction, write_events
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    StoredTransactionEvent,
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxRecordResult,
)
from sigec_actors.ports import DbConn, DbPool

_STATE_FIELDS: tuple[str, ...] = TransactionState.__struct_fields__
_TX = ("SELECT *, charge_point_id AS station_id FROM transactions"
       " WHERE charge_point_id = $1 AND station_transaction_id = $2")
_UPSERT = (
    "INSERT INTO transactions (charge_point_id, station_transaction_id, "  # noqa: S608 -- columns are struct fields
    + ", ".join(_STATE_FIELDS) + ") VALUES ($1, $2, "
    + ", ".join(f"${i + 3}" for i in range(len(_STATE_FIELDS)))
    + ") ON CONFLICT (charge_point_id, station_transaction_id) DO UPDATE SET "
    + ", ".join(f"{f} = EXCLUDED.{f}" for f in _STATE_FIELDS)
    + " RETURNING *, charge_point_id AS station_id"
)


class PgTransactionEventStore:
    """TransactionEventStore on PostgreSQL: event, transaction, meter values, outbox together."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def record(self, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
        try:
            async with transaction(self._pool) as conn:
                return await _record(conn, event, decide)
        except ForeignKeyViolation as exc:
            raise UnknownStation(event.station_id) from exc

    async def get(self, transaction_id: UUID) -> Transaction | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT *, charge_point_id AS station_id FROM transactions WHERE id = $1",
                transaction_id)
        return None if row is None else to_record(row, Transaction)

    async def find(self, station_id: str, station_transaction_id: str) -> Transaction | None:
        async with self._pool.acquire() as conn:
            return await _find(conn, station_id, station_transaction_id)

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


async def _find(conn: DbConn, station_id: str, station_tx_id: str) -> Transaction | None:
    row = await conn.fetchrow(_TX, station_id, station_tx_id)
    return None if row is None else to_record(row, Transaction)


async def _record(conn: DbConn, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
    # Serialise events of one transaction (any node): the duplicate check and `decide` then
    # see the latest state; the unique key on transaction_events stays the final guard.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"tx/{event.station_id}/{event.station_transaction_id}")
    stored = await conn.fetchrow(
        "SELECT response FROM transaction_events WHERE charge_point_id = $1"
        " AND station_transaction_id = $2 AND seq_no = $3",
        event.station_id, event.station_transaction_id, event.seq_no)
    current = await _find(conn, event.station_id, event.station_transaction_id)
    if stored is not None:
        return TxRecordResult(duplicate=True, response=stored["response"], transaction=current)
    decision = decide(current)
    tx = await _upsert(conn, event, decision.state)
    event_id = await conn.fetchval(
        "INSERT INTO transaction_events (charge_point_id, station_transaction_id, seq_no,"
        " transaction_id, event_type, trigger_reason, occurred_at, offline, payload, response)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        event.station_id, event.station_transaction_id, event.seq_no, tx.id,
        event.event_type.value, event.trigger_reason, event.occurred_at, event.offline,
        event.payload, decision.response)
    await _meter_values(conn, event.station_id, tx.id, event_id, decision.meter_values)
    await write_events(conn, decision.events)
    return TxRecordResult(duplicate=False, response=decision.response, transaction=tx)


async def _upsert(conn: DbConn, event: TransactionEventIn, state: TransactionState) -> Transaction:
    values: dict[str, Any] = msgspec.structs.asdict(state)
    row = await conn.fetchrow(_UPSERT, event.station_id, event.station_transaction_id,
                              *[values[f] for f in _STATE_FIELDS])
    return to_record(row, Transaction)


async def _meter_values(conn: DbConn, station_id: str, tx_id: UUID, event_id: int,
                        mv: tuple[MeterValueIn, ...]) -> None:
    if not mv:
        return
    await conn.execute(
        "INSERT INTO meter_values (charge_point_id, transaction_id, event_id, evse_id,"
        " sampled_at, measurand, phase, location, context, unit, value)"
        " SELECT $1, $2, $3, e, s, m, p, l, c, u, v FROM unnest($4::int[],"
        " $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
        " $11::numeric[]) AS t(e, s, m, p, l, c, u, v)",
        station_id, tx_id, event_id, [m.evse_id for m in mv], [m.sampled_at for m in mv],
        [m.measurand for m in mv], [m.phase for m in mv], [m.location for m in mv],
        [m.context for m in mv], [m.unit for m in mv], [m.value for m in mv])
