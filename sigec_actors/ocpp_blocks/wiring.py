"""Assembles the OCPP blocks on a node: their store, the station handlers, the REST ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sigec_actors.adapters.pg_tariffs import PgTariffRepository
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.config import BillingConfig
from sigec_actors.jobs import Jobs, every
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.data_transfer import DataTransfers
from sigec_actors.ocpp_blocks.display import DisplayMessages
from sigec_actors.ocpp_blocks.local_list import LocalLists
from sigec_actors.ocpp_blocks.meter_values import MeterValues
from sigec_actors.ocpp_blocks.ports import BlocksStore
from sigec_actors.ocpp_blocks.tariff_text import TariffMessages
from sigec_actors.ports import DbPool
from sigec_actors.transactions.tariffs import default_tariff

PRUNE_EVERY_S = 3600.0
QUERY_RETENTION = timedelta(days=1)
EXTRAS_KEY = "ocpp_blocks"
"""AppContext.extras key of the node's OcppBlocks (api.routes.ocpp_blocks reads it)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OcppBlocks:
    """Local lists, display messages, meter values and data transfer over one store."""

    def __init__(self, store: BlocksStore, clock: Callable[[], datetime] = _utcnow) -> None:
        self.store = store
        self.local_lists = LocalLists(store, clock)
        self.display = DisplayMessages(store, clock)
        self.meter_values = MeterValues(store, clock)
        self._clock = clock
        self._jobs = Jobs()
        self.data_transfers = DataTransfers()
        """Register a vendorId's handler here (before stations connect)."""

    def start(self, meter_retention_days: int) -> None:
        """Prune meter samples older than `meter_retention_days` (0: keep them) and display
        queries older than a day, every PRUNE_EVERY_S."""
        self._jobs.spawn("ocpp-blocks-prune", every(
            PRUNE_EVERY_S, lambda: self.prune(meter_retention_days), job="ocpp-blocks-prune"))

    async def prune(self, meter_retention_days: int) -> int:
        now = self._clock()
        keep = timedelta(days=meter_retention_days) if meter_retention_days else None
        return await self.store.prune(now - keep if keep else datetime.min.replace(tzinfo=UTC),
                                      now - QUERY_RETENTION)

    async def aclose(self) -> None:
        await self._jobs.stop()

    def register(self, handlers: StationHandlers) -> None:
        """Answer MeterValues, NotifyDisplayMessages and DataTransfer from stations."""
        handlers.handle(m.MeterValuesRequest, self.meter_values.on_meter_values)
        handlers.handle(m.NotifyDisplayMessagesRequest, self.display.on_notify)
        handlers.handle(m.DataTransferRequest, self.data_transfers.on_data_transfer)


def tariff_messages(authorizer: Authorizer, pool: DbPool,
                    billing: BillingConfig) -> TariffMessages:
    """`authorizer` with the station's tariff text in every Accepted Authorize (I01)."""
    default = default_tariff(
        billing.default_price_per_kwh_centavos, billing.default_session_fee_centavos,
        billing.default_per_minute_centavos, billing.default_idle_per_minute_centavos)
    return TariffMessages(authorizer, PgTariffRepository(pool), default, _utcnow)
