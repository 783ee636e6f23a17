"""One statement that writes a whole batch of TransactionEvents, each guarded by its row version.

Per event: the transaction row is updated only if its `updated_at` is still the one the writer
read (migration 0005 makes it strictly increase on every update), or inserted only if it does
not exist yet; the event row, its meter values and its outbox rows are written only for the
events whose row was. An event whose guard failed is simply absent from the result (the caller
raises StaleHistory for it), so it never fails the others. Meter values and outbox rows travel
as flat arrays tagged with their event's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigec_actors.domain.transactions import (
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxDecision,
)

Write = tuple[TransactionEventIn, Transaction | None, TxDecision]
"""An event, the row its decision was made on (None: a new transaction), the decision."""

STATE_TYPES: dict[str, str] = {
    "evse_id": "int", "connector_id": "int", "user_id": "uuid", "id_token": "text",
    "id_token_type": "text", "reservation_id": "uuid", "tariff_id": "uuid",
    "remote_start_id": "int", "status": "text", "charging_state": "text",
    "stopped_reason": "text", "started_at": "timestamptz", "ended_at": "timestamptz",
    "meter_start_wh": "bigint", "meter_stop_wh": "bigint", "energy_wh": "bigint",
    "energy_export_wh": "bigint", "cost_centavos": "bigint", "currency": "text",
    "last_seq_no": "int", "seq_gap": "boolean"}
_STATE = tuple(STATE_TYPES)
if set(_STATE) != set(TransactionState.__struct_fields__):  # pragma: no cover -- import guard
    raise RuntimeError("pg_tx_write.STATE_TYPES must list every TransactionState field")

_K = (("i", "int"), ("s", "text"), ("x", "text"), ("exp_id", "uuid"), ("exp_at", "timestamptz"),
      *STATE_TYPES.items(), ("seq", "int"), ("typ", "text"), ("trig", "text"),
      ("occ", "timestamptz"), ("offl", "boolean"), ("payload", "jsonb"), ("response", "jsonb"))
_MV = (("i", "int"), ("evse", "int"), ("sat", "timestamptz"), ("meas", "text"),
       ("phase", "text"), ("loc", "text"), ("ctx", "text"), ("unit", "text"),
       ("val", "numeric"))
_OB = (("i", "int"), ("subj", "text"), ("body", "jsonb"))


def _unnest(cols: Sequence[tuple[str, str]], first: int, alias: str, ordinality: str = "") -> str:
    args = ", ".join(f"${first + n}::{t}[]" for n, (_, t) in enumerate(cols))
    names = ", ".join([*(c for c, _ in cols), *([ordinality] if ordinality else [])])
    return f"unnest({args}){' WITH ORDINALITY' if ordinality else ''} AS {alias}({names})"


_MV_AT = len(_K) + 1
_OB_AT = _MV_AT + len(_MV)
_SET = ", ".join(f"{f} = k.{f}" for f in _STATE)
_COLS = ", ".join(_STATE)
_K_STATE = ", ".join(f"k.{f}" for f in _STATE)
# Only column names and parameter numbers are formatted into the text (S608).
WRITE = " ".join([
    f"WITH k AS (SELECT * FROM {_unnest(_K, 1, 'k')}),",  # noqa: S608
    f"upd AS (UPDATE transactions t SET {_SET} FROM k",  # noqa: S608
    "WHERE k.exp_id IS NOT NULL AND t.id = k.exp_id AND t.updated_at = k.exp_at",
    "RETURNING k.i, t.*),",
    f"ins AS (INSERT INTO transactions (charge_point_id, station_transaction_id, {_COLS})",
    f"SELECT k.s, k.x, {_K_STATE} FROM k WHERE k.exp_id IS NULL",  # noqa: S608
    "ON CONFLICT (charge_point_id, station_transaction_id) DO NOTHING RETURNING *),",
    "w AS (SELECT * FROM upd UNION ALL SELECT k.i, ins.* FROM ins JOIN k",
    "ON k.exp_id IS NULL AND k.s = ins.charge_point_id AND k.x = ins.station_transaction_id),",
    "ev AS (INSERT INTO transaction_events (charge_point_id, station_transaction_id, seq_no,",
    "transaction_id, event_type, trigger_reason, occurred_at, offline, payload, response)",
    "SELECT w.charge_point_id, w.station_transaction_id, k.seq, w.id, k.typ, k.trig, k.occ,",
    "k.offl, k.payload, k.response FROM w JOIN k ON k.i = w.i ORDER BY w.i",
    "RETURNING id, transaction_id),",
    "mv AS (INSERT INTO meter_values (charge_point_id, transaction_id, event_id, evse_id,",
    "sampled_at, measurand, phase, location, context, unit, value)",
    "SELECT w.charge_point_id, w.id, ev.id, m.evse, m.sat, m.meas, m.phase, m.loc, m.ctx,",
    f"m.unit, m.val FROM {_unnest(_MV, _MV_AT, 'm', 'n')}",
    "JOIN w ON w.i = m.i JOIN ev ON ev.transaction_id = w.id ORDER BY m.n),",
    "ob AS (INSERT INTO event_outbox (subject, payload) SELECT o.subj, o.body",
    f"FROM {_unnest(_OB, _OB_AT, 'o', 'n')} JOIN w ON w.i = o.i ORDER BY o.n)",
    "SELECT *, charge_point_id AS station_id FROM w"])


def write_args(writes: Sequence[Write]) -> list[list[Any]]:
    """The arrays WRITE takes for `writes` (event index i = position + 1)."""
    cols: list[list[Any]] = [[] for _ in range(len(_K) + len(_MV) + len(_OB))]
    k, mv, ob = cols[:len(_K)], cols[len(_K):_OB_AT - 1], cols[_OB_AT - 1:]
    for i, (event, expected, decision) in enumerate(writes, 1):
        state = decision.state
        row = [i, event.station_id, event.station_transaction_id,
               None if expected is None else expected.id,
               None if expected is None else expected.updated_at,
               *(getattr(state, f) for f in _STATE),
               event.seq_no, event.event_type.value, event.trigger_reason, event.occurred_at,
               event.offline, event.payload, decision.response]
        for col, value in zip(k, row, strict=True):
            col.append(value)
        for m in decision.meter_values:
            for col, value in zip(mv, (i, m.evse_id, m.sampled_at, m.measurand, m.phase,
                                       m.location, m.context, m.unit, m.value), strict=True):
                col.append(value)
        for e in decision.events:
            for col, value in zip(ob, (i, e.subject, e.payload), strict=True):
                col.append(value)
    return cols
