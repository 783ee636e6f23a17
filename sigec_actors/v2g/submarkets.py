"""A location's submarket from its Brazilian state (UF) by the configured [v2g] table (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sigec_actors.v2g.pricing import Submarket

_TRAILING_UF = re.compile(
    r"(?:^|[\s,/-])([A-Z]{2})\s*(?:[,-]?\s*(?:CEP:?\s*)?\d{5}-?\d{3})?\s*\.?\s*$")
"""A UF closing an address: "... - SP", "..., RJ", "Recife/PE", "... - BA, 40000-000"."""


def uf_from_address(address: str | None, known: Mapping[str, str]) -> str | None:
    """The UF an address ends with, if it is one of `known`'s (else None: never a guess)."""
    match = _TRAILING_UF.search(address or "")
    return match.group(1) if match and match.group(1) in known else None


def state_submarket(state: str | None, table: Mapping[str, str]) -> Submarket | None:
    """The submarket `table` (v2g.state_submarkets) gives the UF; None if it has none."""
    value = table.get((state or "").upper())
    return None if value is None else Submarket(value)


def location_state(state: str | None, address: str | None,
                   table: Mapping[str, str]) -> str | None:
    """The UF written with a location: `state` as given, else the one its address ends with."""
    return state.upper() if state else uf_from_address(address, table)
