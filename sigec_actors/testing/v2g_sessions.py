"""In-memory stand-ins for the V2G session routes' ports (API tests on fakes, the matrix)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg_wallet import StatementLine
from sigec_actors.domain.records import Caller
from sigec_actors.domain.transactions import Transaction
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g_session.errors import NoTransaction, UnknownSession
from sigec_actors.v2g_session.ports import CompensationOutcome
from sigec_actors.v2g_session.queries import Capability, DayStats, EvseCapability, Preferences
from sigec_actors.v2g_session.service import StartRequest
from sigec_actors.v2g_session.state import V2GState


class InMemoryV2GQueries:
    """Known stations have a capability (unsupported until set); nothing else is stored."""

    def __init__(self, stations: tuple[str, ...] = ()) -> None:
        self.modes: dict[str, tuple[str, int | None]] = dict.fromkeys(
            stations, ("unsupported", None))
        self.prefs: dict[UUID, Preferences] = {}

    async def capability(self, station_id: str) -> Capability | None:
        if station_id not in self.modes:
            return None
        mode, power = self.modes[station_id]
        return Capability(station_id=station_id, online=False, mode=mode,
                          max_discharge_w=power, evses=[EvseCapability(1, None)])

    async def set_mode(self, station_id: str, mode: str, max_discharge_w: int | None) -> None:
        self.modes[station_id] = (mode, max_discharge_w)

    async def active_transaction(self, station_id: str,
                                 evse_id: int | None) -> Transaction | None:
        return None

    async def preferences(self, user_id: UUID) -> Preferences:
        return self.prefs.get(user_id, Preferences())

    async def set_preferences(self, user_id: UUID, p: Preferences) -> Preferences:
        self.prefs[user_id] = p
        return p

    async def session_row(self, session_id: UUID) -> dict[str, Any] | None:
        return None

    async def live_row(self, station_id: str) -> dict[str, Any] | None:
        return None

    async def stats(self, user_id: UUID, since: datetime | None) -> list[DayStats]:
        return []


class NoDischarges:
    """A Starter with no transactions anywhere: every start is NoTransaction (409)."""

    async def start(self, req: StartRequest) -> V2GState:
        raise NoTransaction(req.station_id, req.evse_id)

    async def stop(self, session_id: UUID, reason: str = "user", *,
                   caller: Caller) -> V2GState | None:
        return None


class FakeV2G:
    """V2GControl on the in-memory queries."""

    def __init__(self, stations: tuple[str, ...] = ()) -> None:
        self._queries = InMemoryV2GQueries(stations)

    @property
    def queries(self) -> InMemoryV2GQueries:
        return self._queries

    def service(self, commander: Commander) -> NoDischarges:
        return NoDischarges()


class NoSessionsToSettle:
    """SettleControl with no v2g sessions: every settle is UnknownSession (404)."""

    async def settle_now(self, session_id: UUID) -> CompensationOutcome:
        raise UnknownSession(str(session_id))

    async def session_row(self, session_id: UUID) -> dict[str, Any] | None:
        return None


class EmptyStatement:
    """WalletStatement with no lines and nothing pending."""

    async def lines(self, account_id: UUID, limit: int, offset: int
                    ) -> tuple[list[StatementLine], int]:
        return [], 0

    async def pending_v2g(self, user_id: UUID) -> int:
        return 0
