"""The shipped synthetic PLD week (CCEE 2025+ format) and its projection onto the days around now.

Run `python -m sigec_actors.v2g.fixture` to regenerate `data/pld_horario_fixture.csv`; a test
checks the shipped file is what this generator writes. The values are synthetic (no CCEE data
is shipped): a daily shape with a night valley and an evening peak, lower at weekends, inside
the 2026 PLD limits.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sigec_actors.v2g.ccee_csv import BRT, PldRow, parse_csv, to_csv
from sigec_actors.v2g.limits import clamp
from sigec_actors.v2g.peak import PeakWindow, is_peak
from sigec_actors.v2g.pricing import HourPrice, Submarket

FIXTURE_PATH = Path(__file__).resolve().parent / "data" / "pld_horario_fixture.csv"
WEEK_START = date(2026, 2, 2)  # a Monday, no holiday in that week
SOURCE = "fixture"
# R$/MWh x 100 by local hour 0..23 on a working day (about R$ 270-520, as seen in Jan 2026)
_SHAPE = (
    29_000,
    28_200,
    27_600,
    27_300,
    27_200,
    27_800,
    29_500,
    31_800,
    33_900,
    35_200,
    36_100,
    36_800,
    37_000,
    36_500,
    36_200,
    36_900,
    38_800,
    42_700,
    48_900,
    51_800,
    50_600,
    45_300,
    38_900,
    32_400,
)
_OFFSET = {Submarket.SE: 0, Submarket.S: -450, Submarket.NE: -2_900, Submarket.N: -1_700}


def _noise(submarket: Submarket, day: date, hour: int) -> int:
    """Deterministic jitter of -250..+249 centavos (no random state, same file every run)."""
    digest = hashlib.sha256(f"{submarket}{day}{hour}".encode()).digest()
    return int.from_bytes(digest[:2], "big") % 500 - 250


def synthetic_week() -> list[tuple[Submarket, datetime, int]]:
    """Seven days x 24 hours x 4 submarkets of synthetic hourly PLD, in centavos per MWh."""
    rows = []
    for offset in range(7):
        day = WEEK_START + timedelta(days=offset)
        weekend = 0.85 if day.weekday() >= 5 else 1.0
        for submarket in Submarket:
            for hour in range(24):
                value = int(_SHAPE[hour] * weekend) + _OFFSET[submarket]
                value += _noise(submarket, day, hour)
                local = datetime(day.year, day.month, day.day, hour, tzinfo=BRT)
                rows.append((submarket, local.astimezone(UTC), value))
    return rows


def load_fixture(path: Path = FIXTURE_PATH) -> list[PldRow]:
    """The rows of the shipped fixture file."""
    return parse_csv(path.read_bytes()).rows


def project(
    rows: list[PldRow], first_day: date, days: int, window: PeakWindow | None = None
) -> list[HourPrice]:
    """The fixture's week laid over local days `first_day`..+days: same weekday, same hour.

    Each projected price is clamped to the limits of its own year and marked source "fixture".
    """
    window = window or PeakWindow()
    by_key = {
        (
            r.submarket,
            r.hour_start.astimezone(BRT).weekday(),
            r.hour_start.astimezone(BRT).hour,
        ): r.pld_centavos_per_mwh
        for r in rows
    }
    out: list[HourPrice] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for hour in range(24):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=BRT).astimezone(UTC)
            for submarket in Submarket:
                value = by_key.get((submarket, day.weekday(), hour))
                if value is not None:
                    out.append(
                        HourPrice(
                            submarket, start, clamp(value, start), is_peak(start, window), SOURCE
                        )
                    )
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the fixture file (or the path given) from the generator."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else FIXTURE_PATH
    target.write_bytes(to_csv(synthetic_week()).encode("latin-1"))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
