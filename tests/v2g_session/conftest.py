"""PostgreSQL fixtures of the V2G session tests: a user's active transaction on a V2G station."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.ports import DbPool
from sigec_actors.testing.v2g import FakeGridPrices
from sigec_actors.v2g.pricing import HourPrice, RetailPolicy, Submarket
from sigec_actors.v2g_session.pay_store import PgCompensations
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.settle import Settlement
from sigec_actors.v2g_session.state import SessionPolicy, V2GState
from sigec_actors.v2g_session.store import PgSessionStore
from tests.transactions.conftest import new_station, new_user

H20 = datetime(2026, 1, 28, 20, tzinfo=UTC)
H21 = datetime(2026, 1, 28, 21, tzinfo=UTC)
POLICY = RetailPolicy("test-1", alpha_ppm=1_000_000, beta_centavos_per_mwh=0, margin_bp=1000)
PRICES = (HourPrice(Submarket.SE, H20, 30_000, False, "fixture"),
          HourPrice(Submarket.SE, H21, 52_000, True, "fixture"))


@pytest.fixture
async def pool(migrated_pg_dsn: str) -> AsyncIterator[DbPool]:
    p = await create_pool(migrated_pg_dsn, min_size=1, max_size=12)
    yield p
    await p.close()


class Clears:
    """DischargeCommands that records each ClearChargingProfile and answers `ok`."""

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.sent: list[tuple[str, int, int]] = []

    async def clear(self, station_id: str, profile_id: int, evse_id: int) -> tuple[bool, str]:
        self.sent.append((station_id, profile_id, evse_id))
        return self.ok, "Accepted" if self.ok else "Unknown"


@dataclass
class World:
    pool: DbPool
    user: uuid.UUID
    station: str
    tx_id: str
    tx_uuid: uuid.UUID
    store: PgSessionStore
    rows: PgCompensations
    ledger: PgLedgerRepository
    prices: FakeGridPrices

    def settlement(self) -> Settlement:
        return Settlement(self.store, self.rows, self.prices, self.ledger, POLICY,
                          default_submarket=Submarket.SE, clock=lambda: datetime.now(UTC),
                          alerts=PgAlerts(self.pool))

    def session(self, **kw: object) -> V2GState:
        base = V2GState(session_id=uuid.uuid4(), user_id=self.user, station_id=self.station,
                        evse_id=1, transaction_id=self.tx_uuid, station_transaction_id=self.tx_id,
                        mode="v201_negative_limit", profile_id=9001, max_discharge_w=7000,
                        min_soc=20, policy=SessionPolicy(offline_grace_s=300))
        return msgspec.structs.replace(base, **kw)

    async def wallet(self) -> int:
        account = await self.ledger.account(AccountKind.USER_WALLET, self.user)
        return await self.ledger.balance(account.id)


@pytest.fixture
async def world(pool: DbPool) -> World:
    station, user = await new_station(pool, evses=1), await new_user(pool)
    tx_id = f"tx-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        tx_uuid = await conn.fetchval(
            "INSERT INTO transactions (charge_point_id, station_transaction_id, evse_id,"
            " user_id, status, started_at) VALUES ($1, $2, 1, $3, 'Active', $4) RETURNING id",
            station, tx_id, user, H20)
    await PgV2GQueries(pool).set_mode(station, "v201_negative_limit", 7000)
    return World(pool, user, station, tx_id, tx_uuid, PgSessionStore(pool), PgCompensations(pool),
                 PgLedgerRepository(pool), FakeGridPrices(PRICES))


def tx_event(tx_id: str, seq: int, samples: list[tuple[datetime, int, int]],
             event_type: str = "Updated") -> TransactionEventRequest:
    """A TransactionEvent with (time, export register Wh, SoC) samples on EVSE 1."""
    return msgspec.convert({
        "eventType": event_type, "timestamp": samples[-1][0].isoformat() if samples else
        H20.isoformat(), "triggerReason": "MeterValuePeriodic", "seqNo": seq,
        "transactionInfo": {"transactionId": tx_id}, "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": at.isoformat(), "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Export.Register",
             "unitOfMeasure": {"unit": "Wh"}},
            {"value": soc, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
            {"value": 7.2, "measurand": "Power.Active.Export", "unitOfMeasure": {"unit": "kW"}},
        ]} for at, wh, soc in samples] or None,
    }, TransactionEventRequest)
