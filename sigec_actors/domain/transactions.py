"""Frozen records of charging transactions and their deduplicated TransactionEvents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.domain.records import OutboxMessage


class TxEventType(StrEnum):
    """OCPP 2.0.1 TransactionEventEnumType."""

    STARTED = "Started"
    UPDATED = "Updated"
    ENDED = "Ended"


class TxStatus(StrEnum):
    ACTIVE = "Active"
    ENDED = "Ended"


class TransactionState(msgspec.Struct, frozen=True, kw_only=True):
    """The mutable part of a transaction row; `decide` returns the next one."""

    evse_id: int | None = None
    connector_id: int | None = None
    user_id: UUID | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    reservation_id: UUID | None = None
    tariff_id: UUID | None = None
    remote_start_id: int | None = None
    status: TxStatus = TxStatus.ACTIVE
    charging_state: str | None = None
    stopped_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int = 0
    energy_export_wh: int = 0
    cost_centavos: int = 0
    currency: str = "BRL"
    last_seq_no: int | None = None
    seq_gap: bool = False


class Transaction(TransactionState, frozen=True, kw_only=True):
    """A stored transaction: one per (station, OCPP transactionId)."""

    id: UUID
    station_id: str
    station_transaction_id: str
    created_at: datetime
    updated_at: datetime


class TransactionEventIn(msgspec.Struct, frozen=True, kw_only=True):
    """A received TransactionEvent, keyed by (station_id, station_transaction_id, seq_no)."""

    station_id: str
    station_transaction_id: str
    seq_no: int
    event_type: TxEventType
    occurred_at: datetime
    payload: dict[str, Any]
    trigger_reason: str | None = None
    offline: bool = False


class MeterValueIn(msgspec.Struct, frozen=True, kw_only=True):
    """One sampled value as sent by the station (exact decimal + unit)."""

    sampled_at: datetime
    value: Decimal
    measurand: str = "Energy.Active.Import.Register"
    unit: str | None = None
    phase: str | None = None
    location: str | None = None
    context: str | None = None
    evse_id: int | None = None


class TxDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What to store for a new (non-duplicate) event, all in one DB transaction."""

    state: TransactionState
    response: dict[str, Any]
    events: tuple[OutboxMessage, ...] = ()
    meter_values: tuple[MeterValueIn, ...] = ()


class TxRecordResult(msgspec.Struct, frozen=True, kw_only=True):
    """`duplicate` True: the event was seen before and `response` is the stored first answer."""

    duplicate: bool
    response: dict[str, Any]
    transaction: Transaction | None


class RemoteStart(msgspec.Struct, frozen=True, kw_only=True):
    """A RequestStartTransaction we sent: who asked, keyed by (station, remoteStartId).

    The station's Started names `remote_start_id` (maybe without an idToken); the
    transaction is then the asker's (`user_id`, token), claimed by one transaction only.
    """

    station_id: str
    remote_start_id: int
    id_token: str
    id_token_type: str
    user_id: UUID | None = None
    station_transaction_id: str | None = None  # the transaction that claimed it


class StoredTransactionEvent(msgspec.Struct, frozen=True, kw_only=True):
    seq_no: int
    event_type: TxEventType
    occurred_at: datetime
    offline: bool
    trigger_reason: str | None
    payload: dict[str, Any]
    response: dict[str, Any]


Decide = Callable[[Transaction | None], TxDecision]
"""Pure function from the current transaction (None if new) to what to store and answer."""
