"""Builds the grid-price objects from [v2g] settings: store, service, source, refresh job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from api.context import AppContext
from api.routes.v2g_prices import EXTRAS_KEY, PricePorts
from sigec_actors.adapters.ccee import CkanPldSource
from sigec_actors.adapters.pg_grid_prices import PgGridPrices
from sigec_actors.config import V2GConfig
from sigec_actors.errors import ConfigError
from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import RetailPolicy, Submarket
from sigec_actors.v2g.service import GridPriceService, PriceRefresher, PriceSource
from sigec_actors.v2g.sources import CsvFileSource, FixtureSource

log = structlog.get_logger("v2g.prices")


def utcnow() -> datetime:
    return datetime.now(UTC)


def peak_window(cfg: V2GConfig) -> PeakWindow:
    """The ponta window; an unknown time zone is a ConfigError naming v2g.peak_timezone."""
    try:
        ZoneInfo(cfg.peak_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("v2g.peak_timezone", f"unknown time zone {cfg.peak_timezone!r}") from None
    return PeakWindow(time.fromisoformat(cfg.peak_start), time.fromisoformat(cfg.peak_end),
                      cfg.peak_timezone, cfg.holidays_subdivision)


def retail_policy(cfg: V2GConfig) -> RetailPolicy:
    return RetailPolicy(version=cfg.retail_policy_version, alpha_ppm=cfg.retail_alpha_ppm,
                        beta_centavos_per_mwh=cfg.retail_beta_centavos_per_mwh,
                        margin_bp=cfg.margin_bp)


def price_source(cfg: V2GConfig) -> PriceSource:
    """The configured source; "csv" needs v2g.price_csv_path."""
    if cfg.price_source == "ccee":
        return CkanPldSource(cfg.ccee_base_url, cfg.ccee_dataset, cfg.ccee_timeout_s)
    if cfg.price_source == "csv":
        if not cfg.price_csv_path:
            raise ConfigError("v2g.price_csv_path", "required when v2g.price_source = \"csv\"")
        return CsvFileSource(Path(cfg.price_csv_path))
    return FixtureSource()


class PricesWiring:
    """The node's grid prices: REST ports and the periodic refresh from the source.

    Every node runs the refresh job; a round is skipped when any node attempted one within
    half an interval (v2g_price_fetches), so N nodes do not fetch N times.
    """

    def __init__(self, pool: DbPool, cfg: V2GConfig,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.cfg = cfg
        self.clock = clock
        self.store = PgGridPrices(pool)
        window = peak_window(cfg)
        self.source = price_source(cfg)
        self.service = GridPriceService(self.store, self.source.name, window)
        self.refresher = PriceRefresher(self.source, self.store, window, clock)
        self._jobs = Jobs()

    def ports(self) -> PricePorts:
        return PricePorts(prices=self.service, stations=self.store, policy=retail_policy(self.cfg),
                          default_submarket=Submarket(self.cfg.default_submarket))

    def fill(self, ctx: AppContext) -> None:
        ctx.extras[EXTRAS_KEY] = self.ports()

    def start(self) -> None:
        self._jobs.spawn("grid-prices", every(self.cfg.price_refresh_interval_s, self.refresh,
                                              job="grid-prices", first_after_s=0.0))

    async def refresh(self) -> None:
        """One round unless another node attempted one within half an interval."""
        status = await self.store.fetch_status(self.source.name)
        half = timedelta(seconds=self.cfg.price_refresh_interval_s / 2)
        if status is not None and status.last_attempt_at > self.clock() - half:
            return
        await self.refresher.run_once()

    async def stop(self) -> None:
        await self._jobs.stop()
