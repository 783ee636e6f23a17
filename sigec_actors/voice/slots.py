"""Slot values from normalised tokens: station, connector, SoC floor, amount, radius, period."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process

from sigec_actors.voice import vocabulary as v
from sigec_actors.voice.intents import IntentName
from sigec_actors.voice.text import number

Problem = tuple[str, tuple[str, ...]]
"""("station_unknown", (mention,)) or ("station_ambiguous", (id, id, ...))."""

STATION_SCORE = 85.0
_TRAILING = re.compile(r"(\d+)$")


def _after(words: list[str], group: frozenset[str]) -> str | None:
    """The token right after a word of `group` (skipping "numero"/"number"/"no"/"o")."""
    for i, word in enumerate(words):
        if word in group:
            for nxt in words[i + 1:i + 3]:
                if nxt not in {"numero", "number", "no", "n", "o", "a", "de", "do", "da"}:
                    return nxt
    return None


def _numbers(words: list[str]) -> list[tuple[int, float]]:
    return [(i, n) for i, w in enumerate(words) if (n := number(w)) is not None]


def station_mention(words: list[str], stations: Sequence[str]) -> str | None:
    known = {s.lower() for s in stations}
    for word in words:
        if word in known:
            return word
    mention = _after(words, v.STATIONS)
    if mention in ("um", "uma", "one"):  # "posto um": a number after a station noun
        return "1"
    if mention is not None and mention not in v.ALL:
        return mention
    return None


def resolve_station(mention: str, stations: Sequence[str]  # noqa: PLR0911 -- one per way to name
                    ) -> tuple[str | None, Problem | None]:
    """The station id a mention names: exact, by its number ("12" -> "CP-012"), or fuzzily."""
    by_lower = {s.lower(): s for s in stations}
    if mention in by_lower:
        return by_lower[mention], None
    if mention.isdigit():
        hits = [s for s in stations
                if (m := _TRAILING.search(s)) is not None and int(m.group(1)) == int(mention)]
        if len(hits) == 1:
            return hits[0], None
        if len(hits) > 1:
            return None, ("station_ambiguous", tuple(sorted(hits)[:5]))
        return None, ("station_unknown", (mention,))
    found = process.extract(mention, list(stations), scorer=fuzz.WRatio, limit=2,
                            processor=str.lower, score_cutoff=STATION_SCORE)
    if not found:
        return None, ("station_unknown", (mention,))
    if len(found) > 1 and found[0][1] - found[1][1] < 5:
        return None, ("station_ambiguous", (found[0][0], found[1][0]))
    return found[0][0], None


def _percent(words: list[str]) -> float | None:
    for i, n in _numbers(words):
        if i + 1 < len(words) and words[i + 1] in v.PERCENT:
            return n
        if i > 0 and words[i - 1] in v.FLOOR:
            return n
    return None


def _amount_centavos(words: list[str]) -> int | None:
    nums = _numbers(words)
    for i, n in nums:
        if (i > 0 and words[i - 1] == "r$") or (i + 1 < len(words) and words[i + 1] in v.MONEY):
            return round(n * 100)
    return round(nums[0][1] * 100) if len(nums) == 1 else None


def _radius(words: list[str]) -> float | None:
    for i, n in _numbers(words):
        if i + 1 < len(words) and words[i + 1] in v.KM:
            return n
    return None


def _connector(words: list[str]) -> int | None:
    mention = _after(words, v.CONNECTOR)
    n = number(mention) if mention is not None else None
    return int(n) if n is not None and n == int(n) and n >= 1 else None


def slots_for(name: IntentName, words: list[str], stations: Sequence[str]
              ) -> tuple[dict[str, Any], Problem | None]:
    slots: dict[str, Any] = {}
    problem: Problem | None = None
    if name in (IntentName.START_CHARGING, IntentName.RESERVE, IntentName.STOP_CHARGING,
                IntentName.START_V2G):
        connector = _connector(words)
        mention = station_mention(words, stations)
        if mention is None and name in (IntentName.START_CHARGING, IntentName.RESERVE):
            connector_token = str(connector) if connector is not None else None
            bare = [w for i, w in enumerate(words) if w.isdigit() and w != connector_token
                    and not (i + 1 < len(words) and words[i + 1] in v.PERCENT | v.MONEY | v.KM)]
            mention = bare[0] if len(bare) == 1 else None
        if mention is not None:
            station, problem = resolve_station(mention, stations)
            if station is not None:
                slots["station"] = station
        if connector is not None and name in (IntentName.START_CHARGING, IntentName.RESERVE):
            slots["connector"] = connector
    if name is IntentName.START_V2G:
        soc = _percent(words)
        if soc is not None and 10 <= soc <= 100:
            slots["min_soc"] = int(soc)
    elif name is IntentName.TOP_UP:
        amount = _amount_centavos(words)
        if amount is not None and 100 <= amount <= 500_000:
            slots["amount_centavos"] = amount
    elif name is IntentName.NEARBY_STATIONS:
        radius = _radius(words)
        if radius is not None and 0.1 <= radius <= 500:
            slots["radius_km"] = radius
    elif name is IntentName.V2G_EARNINGS:
        periods = [v.PERIODS[w] for w in words if w in v.PERIODS]
        slots["period"] = periods[0] if periods else "month"
    return slots, problem
