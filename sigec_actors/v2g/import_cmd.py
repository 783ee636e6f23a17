"""`sigec prices import FILE`: load a CCEE pld_horario CSV into v2g_grid_prices."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from sigec_actors.adapters.pg_grid_prices import PgGridPrices
from sigec_actors.config import Settings
from sigec_actors.errors import SigecError
from sigec_actors.setup import _Db
from sigec_actors.v2g.ccee_csv import parse_csv
from sigec_actors.v2g.pricing import HourPrice
from sigec_actors.v2g.service import FORECAST, UpsertCounts, normalize
from sigec_actors.v2g.sources import rows_to_prices
from sigec_actors.v2g.wiring import peak_window

SOURCE_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
SHOWN_ERRORS = 20


def prices_import_command(settings: Settings, path: Path, source: str) -> int:
    """Parse, clamp, mark peak and upsert (idempotent); 1 when some rows were bad, else 0."""
    if not SOURCE_NAME.fullmatch(source) or source == FORECAST:
        raise SigecError(f"--source {source!r}: lower-case letters, digits, - and _ "
                         f"(at most 32), and not {FORECAST!r}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigecError(f"cannot read {path}: {exc.strerror}") from None
    parsed = parse_csv(data)  # BadPldFile (a SigecError) when there is no usable header
    prices = normalize(rows_to_prices(parsed.rows, source), peak_window(settings.v2g))
    counts = asyncio.run(_store(settings, prices))
    for error in parsed.errors[:SHOWN_ERRORS]:
        print(f"{path}:{error.line}: {error.reason}", file=sys.stderr)
    if len(parsed.errors) > SHOWN_ERRORS:
        print(f"... and {len(parsed.errors) - SHOWN_ERRORS} more bad rows", file=sys.stderr)
    print(f"{len(parsed.rows)} rows read, {len(parsed.errors)} bad; "
          f"{counts.inserted} inserted, {counts.updated} updated, "
          f"{counts.unchanged} unchanged (source {source})")
    return 1 if parsed.errors else 0


async def _store(settings: Settings, prices: list[HourPrice]) -> UpsertCounts:
    async with _Db(settings) as services:
        return await PgGridPrices(services.require_pool()).upsert(prices)
