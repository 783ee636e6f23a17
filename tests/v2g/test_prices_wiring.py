"""PricesWiring: the [v2g] settings it builds from, and its refresh round shared by nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.ports import DbPool
from sigec_actors.v2g.pricing import Submarket
from sigec_actors.v2g.wiring import PricesWiring, peak_window, price_source, retail_policy

pytestmark = pytest.mark.pg
NOW = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)


def test_settings_build_the_policy_window_and_source() -> None:
    cfg = load_settings({"SIGEC_V2G__MARGIN_BP": "250"}).v2g
    policy = retail_policy(cfg)
    assert (policy.alpha_ppm, policy.beta_centavos_per_mwh, policy.margin_bp) == (1_000_000, 0, 250)
    assert price_source(cfg).name == "fixture"
    with pytest.raises(ConfigError, match=r"v2g\.peak_timezone"):
        peak_window(msgspec.structs.replace(cfg, peak_timezone="Mars/Olympus"))
    with pytest.raises(ConfigError, match=r"v2g\.price_csv_path"):
        price_source(msgspec.structs.replace(cfg, price_source="csv"))
    with pytest.raises(ConfigError, match=r"v2g\.margin_bp"):
        load_settings({"SIGEC_V2G__MARGIN_BP": "10001"})
    with pytest.raises(ConfigError, match=r"v2g\.default_submarket"):
        load_settings({"SIGEC_V2G__DEFAULT_SUBMARKET": "SE_CO"})


async def test_a_round_is_skipped_when_another_node_just_refreshed(pg_pool: DbPool) -> None:
    async with pg_pool.acquire() as conn:
        await conn.execute("TRUNCATE v2g_grid_prices, v2g_price_fetches")
    cfg = load_settings({}).v2g
    clock = [NOW]
    one, other = (PricesWiring(pg_pool, cfg, clock=lambda: clock[0]) for _ in range(2))
    await one.refresh()
    status = await one.store.fetch_status("fixture")
    assert status is not None and status.last_attempt_at == NOW and not status.failing
    price, stale = await one.service.current(Submarket.SE, NOW)
    assert price is not None and price.source == "fixture" and not stale
    clock[0] = NOW + timedelta(minutes=20)  # within half of the 1 h interval: skipped
    await other.refresh()
    status = await other.store.fetch_status("fixture")
    assert status is not None and status.last_attempt_at == NOW
    clock[0] = NOW + timedelta(minutes=31)
    await other.refresh()
    status = await other.store.fetch_status("fixture")
    assert status is not None and status.last_attempt_at == clock[0]
    ports = other.ports()
    assert ports.default_submarket == Submarket.SE and ports.policy.version == cfg.retail_policy_version
