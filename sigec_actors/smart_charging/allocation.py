"""Pure site power allocation: fair share with a floor per EVSE, or by priority."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

import msgspec

EvseKey = tuple[str, int]
"""(charge point id, EVSE id)."""


class Strategy(StrEnum):
    FAIR = "fair"
    PRIORITY = "priority"


class Demand(msgspec.Struct, frozen=True, kw_only=True):
    """One EVSE with a session at the site.

    `fixed_w` set: the EVSE's power is not ours to give (a station offline keeps its last
    allocation; a V2G discharge is negative load); it only moves the budget. Otherwise the EVSE
    gets between 0 and `max_w`. `order` breaks ties: the earlier session first.
    """

    key: EvseKey
    max_w: int
    priority: int = 0
    order: int = 0
    fixed_w: int | None = None


class SitePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A location's limit: `limit_w` for the whole connection, `floor_w` per charging EVSE."""

    limit_w: int
    strategy: Strategy = Strategy.FAIR
    floor_w: int = 0


def allocate(policy: SitePolicy, demands: Sequence[Demand]) -> dict[EvseKey, int]:
    """The power (W, >= 0) each flexible EVSE may draw, so that the flexible sum plus every
    fixed power stays within `limit_w`.

    Every flexible EVSE gets at least `floor_w` (or its max when lower) when the budget allows
    it for all of them; when it does not, as many as fit get their floor (by priority, then
    order) and the others 0 (pausing is better than charging below the car's minimum). The
    result depends only on the inputs (stable: nothing changed, nothing to send).
    """
    flexible = sorted((d for d in demands if d.fixed_w is None),
                      key=lambda d: (-d.priority, d.order, d.key))
    fixed = sum(d.fixed_w for d in demands if d.fixed_w is not None)
    budget = max(policy.limit_w - fixed, 0)
    floors = {d.key: min(policy.floor_w, max(d.max_w, 0)) for d in flexible}
    chosen: list[Demand] = []
    reserved = 0
    for demand in flexible:
        if reserved + floors[demand.key] <= budget:
            chosen.append(demand)
            reserved += floors[demand.key]
    if policy.strategy is Strategy.PRIORITY:
        given = {d.key: floors[d.key] for d in chosen}
        left = budget - reserved
        for demand in chosen:  # best first: each takes what it can of what is left
            extra = min(max(demand.max_w, 0) - given[demand.key], left)
            given[demand.key] += extra
            left -= extra
    else:
        given = _water_fill(chosen, floors, budget)
    result = dict.fromkeys((d.key for d in flexible), 0)
    result.update(given)
    return result


def _water_fill(chosen: list[Demand], floors: Mapping[EvseKey, int],
                budget: int) -> dict[EvseKey, int]:
    """An equal share of `budget`, never under an EVSE's floor nor over its max: the smallest
    maxima are served first and what they leave is shared by the others (`budget` covers
    every floor, which keeps enough for the floors still to come)."""
    given: dict[EvseKey, int] = {}
    ordered = sorted(chosen, key=lambda d: (d.max_w, d.order, d.key))
    for i, demand in enumerate(ordered):
        share = budget // (len(ordered) - i)
        watts = min(max(demand.max_w, 0), max(share, floors[demand.key]))
        given[demand.key] = watts
        budget -= watts
    return given


def changed(before: Mapping[EvseKey, int], after: Mapping[EvseKey, int]) -> dict[EvseKey, int]:
    """The allocations to send: new EVSEs and those whose power moved."""
    return {key: watts for key, watts in after.items() if before.get(key) != watts}
