"""V2G grid prices and the compensation preview: any signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Annotated, Protocol

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.context import AppContext
from api.errors import InvalidInput, NotFound
from api.problems import Problem
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.schemas.stations import StationId
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import Role
from sigec_actors.v2g.pricing import (
    HourPrice,
    PriceGap,
    RetailPolicy,
    Submarket,
    compensate,
    split_by_hour,
)
from sigec_actors.v2g.service import GridPriceService

EXTRAS_KEY = "v2g_prices"
BASE = "/api/v1/v2g"
MAX_CALC_SPAN = timedelta(days=31)


class StationSubmarkets(Protocol):
    async def station_submarket(self, station_id: str) -> Submarket | None:
        """The submarket of the station's location (None: not set); raises UnknownStation."""
        ...


@dataclass
class PricePorts:
    """What the grid-price routes use (bootstrap puts it in ctx.extras[EXTRAS_KEY])."""

    prices: GridPriceService
    stations: StationSubmarkets
    policy: RetailPolicy
    default_submarket: Submarket


class PriceQuery(Body, frozen=True, kw_only=True):
    """submarket, or the submarket of chargePointId's location, else v2g.default_submarket."""

    submarket: Submarket | UnsetType = UNSET
    charge_point_id: StationId | UnsetType = UNSET


class ForecastQuery(PriceQuery, frozen=True, kw_only=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=168)] = 24


class CalcBody(Body, frozen=True, kw_only=True):
    """energyWh spread evenly over [start, end) (at most 31 days), priced hour by hour."""

    energy_wh: Annotated[int, msgspec.Meta(ge=0, le=10**9)]
    start: datetime
    end: datetime
    submarket: Submarket | UnsetType = UNSET


class GridPriceOut(Out, frozen=True, kw_only=True):
    """One hour's grid price. pldCentavosPerMwh is CCEE's PLD clamped to the year's limits;
    priceCentavosPerMwh the retail price (alpha x PLD + beta, integer centavos per MWh,
    rounded half-even once); priceCentavosPerKwh that price / 1000 rounded half-even to whole
    centavos, for display only (compensation uses the per-MWh price). stale: the price
    source's last refresh failed, or the hour has no price and the last known one is shown."""

    submarket: Submarket
    hour_start: datetime
    pld_centavos_per_mwh: int
    price_centavos_per_mwh: int
    price_centavos_per_kwh: Annotated[int, msgspec.Meta(
        description="priceCentavosPerMwh / 1000, rounded half-even to whole centavos")]
    is_peak: bool
    source: str
    stale: bool

    @classmethod
    def of(cls, price: HourPrice, policy: RetailPolicy, stale: bool) -> GridPriceOut:
        retail = policy.price_centavos_per_mwh(price.pld_centavos_per_mwh)
        return cls(submarket=price.submarket, hour_start=price.hour_start,
                   pld_centavos_per_mwh=price.pld_centavos_per_mwh,
                   price_centavos_per_mwh=retail,
                   price_centavos_per_kwh=round(Fraction(retail, 1000)),
                   is_peak=price.is_peak, source=price.source, stale=stale)


class ForecastOut(Out, frozen=True, kw_only=True):
    items: list[GridPriceOut]


class HourShareOut(Out, frozen=True, kw_only=True):
    hour_start: datetime
    export_wh: int
    pld_centavos_per_mwh: int
    price_centavos_per_mwh: int
    gross_centavos: Annotated[str, msgspec.Meta(
        description="exact, unrounded (decimal string); only the total is rounded")]


class CompensationOut(Out, frozen=True, kw_only=True):
    submarket: Submarket
    energy_wh: int
    gross_centavos: int
    margin_centavos: int
    net_centavos: int
    margin_bp: int
    policy_version: str
    hours: list[HourShareOut]


resource = Resource("v2g", authenticate)
routes = resource.table


def _ports(call: Call) -> PricePorts:
    return price_ports(call.ctx)


def price_ports(ctx: AppContext) -> PricePorts:
    ports = ctx.extras.get(EXTRAS_KEY)
    return need(ports if isinstance(ports, PricePorts) else None, "grid prices")


async def _submarket(ports: PricePorts, q: PriceQuery) -> Submarket:
    if isinstance(q.submarket, Submarket):
        return q.submarket
    if isinstance(q.charge_point_id, str):
        found = await ports.stations.station_submarket(q.charge_point_id)
        if found is not None:
            return found
    return ports.default_submarket


@resource.get(BASE + "/grid-price", "The grid price (PLD and retail) of the current hour",
              role=Role.USER, query=PriceQuery, response=GridPriceOut, errors=(404, 422))
async def grid_price(call: Call) -> web.Response:
    """The current hour's PLD, clamped to the year's limits, and the retail price."""
    return json_response(await current_price(call.ctx, call.query(PriceQuery)))


async def current_price(ctx: AppContext, q: PriceQuery) -> GridPriceOut:
    """The current hour's price for `q` (REST, GraphQL and gRPC answer with this)."""
    ports = price_ports(ctx)
    submarket = await _submarket(ports, q)
    price, stale = await ports.prices.current(submarket, ctx.clock())
    if price is None:
        raise NotFound("grid price", submarket.value)
    return GridPriceOut.of(price, ports.policy, stale)


@resource.get(BASE + "/grid-price/forecast", "Grid prices of the next 1..168 hours",
              role=Role.USER, query=ForecastQuery, response=ForecastOut, errors=(404, 422))
async def grid_price_forecast(call: Call) -> web.Response:
    """Published hours first; beyond them the mean of the same hour over the last 7 days
    (source "forecast"); an hour with neither is left out."""
    ports = _ports(call)
    q = call.query(ForecastQuery)
    submarket = await _submarket(ports, q)
    now = call.ctx.clock()
    stale = await ports.prices.failing()
    items = await ports.prices.forecast(submarket, now, q.hours)
    return json_response(ForecastOut(items=[GridPriceOut.of(p, ports.policy, stale)
                                            for p in items]))


@resource.post(BASE + "/compensation/calc", "Preview what a discharge would earn",
               role=Role.USER, body=CalcBody, response=CompensationOut, errors=(422,))
async def compensation_calc(call: Call) -> web.Response:
    """energyWh spread evenly over [start, end), Wh per hour times that hour's retail price;
    gross and margin are each rounded once, half-even, to whole centavos."""
    ports = _ports(call)
    body = call.body(CalcBody)
    start, end = body.start, body.end
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start", "start and end need a UTC offset")
    if not (start < end and end - start <= MAX_CALC_SPAN):
        raise InvalidInput("end", "must be after start and at most 31 days later")
    submarket = body.submarket if isinstance(body.submarket, Submarket) \
        else ports.default_submarket
    export = split_by_hour([(start, 0), (end, body.energy_wh)])
    prices = {p.hour_start: p for p in await ports.prices.hours(submarket, start, end)}
    try:
        comp = compensate(export, prices, ports.policy)
    except PriceGap as exc:
        raise Problem(422, "Unprocessable Content", str(exc), field="start",
                      missingHours=[h.isoformat() for h in exc.missing[:48]]) from None
    return json_response(CompensationOut(
        submarket=submarket, energy_wh=comp.export_wh, gross_centavos=comp.gross_centavos,
        margin_centavos=comp.margin_centavos, net_centavos=comp.net_centavos,
        margin_bp=ports.policy.margin_bp, policy_version=comp.policy_version,
        hours=[HourShareOut(hour_start=s.hour_start, export_wh=s.export_wh,
                            pld_centavos_per_mwh=prices[s.hour_start].pld_centavos_per_mwh,
                            price_centavos_per_mwh=s.price_centavos_per_mwh,
                            gross_centavos=s.gross_centavos) for s in comp.hours]))
