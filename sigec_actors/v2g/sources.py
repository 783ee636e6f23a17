"""Price sources from files: the shipped fixture laid over today, or a CCEE CSV on disk."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from sigec_actors.v2g.ccee_csv import BRT, BadPldFile, PldRow, parse_csv
from sigec_actors.v2g.fixture import SOURCE as FIXTURE
from sigec_actors.v2g.fixture import load_fixture, project
from sigec_actors.v2g.pricing import HourPrice
from sigec_actors.v2g.service import PriceFetchFailed

FIXTURE_DAYS_BACK = 7  # history, for the forecast's 7-day averages
FIXTURE_DAYS_AHEAD = 2  # today and tomorrow, as CCEE publishes D+1


def rows_to_prices(rows: list[PldRow], source: str) -> list[HourPrice]:
    """Parsed rows as (not yet clamped) hour prices of `source`."""
    return [HourPrice(r.submarket, r.hour_start, r.pld_centavos_per_mwh, False, source)
            for r in rows]


class FixtureSource:
    """The synthetic fixture week projected onto the 7 days before today through tomorrow."""

    name = FIXTURE

    def __init__(self) -> None:
        self._rows = load_fixture()

    async def fetch(self, now: datetime) -> list[HourPrice]:
        first = now.astimezone(BRT).date() - timedelta(days=FIXTURE_DAYS_BACK)
        return project(self._rows, first, FIXTURE_DAYS_BACK + FIXTURE_DAYS_AHEAD)


class CsvFileSource:
    """A CCEE pld_horario CSV file (either layout), re-read on every refresh."""

    def __init__(self, path: Path, name: str = "csv") -> None:
        self.path = path
        self.name = name

    async def fetch(self, now: datetime) -> list[HourPrice]:
        try:
            data = await asyncio.to_thread(self.path.read_bytes)
            parsed = parse_csv(data)
        except OSError as exc:
            raise PriceFetchFailed(self.name, f"cannot read {self.path}: {exc.strerror}") from None
        except BadPldFile as exc:
            raise PriceFetchFailed(self.name, str(exc)) from None
        return rows_to_prices(parsed.rows, self.name)
