"""`sigec prices import FILE`: counts, idempotence, bad rows with their line numbers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

SIGEC = str(Path(sys.executable).parent / "sigec")
pytestmark = pytest.mark.pg


def _run(args: list[str], dsn: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGEC_")}
    env.update(DATABASE_URL=dsn, SIGEC_DATA_DIR=str(tmp_path), SIGEC_LOG__LEVEL="warning")
    return subprocess.run([SIGEC, *args], env=env, capture_output=True, text=True, timeout=60)


async def _rows(dsn: str) -> list[tuple[str, str, int, bool, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT region, starts_at, price_centavos_mwh, is_peak, source"
                                " FROM v2g_grid_prices ORDER BY starts_at, region")
    finally:
        await conn.close()
    return [(r[0], r[1].isoformat(), r[2], r[3], r[4]) for r in rows]


def test_import_counts_clamps_and_is_idempotent(pg_dsn: str, tmp_path: Path) -> None:
    csv = tmp_path / "pld_horario_2024.csv"
    csv.write_bytes(
        b'"MES_REFERENCIA";"SUBMERCADO";"PERIODO_COMERCIALIZACAO";"DIA";"HORA";"PLD_HORA"\r\n'
        b'"202403";SUDESTE;18;"05";"18";"519,66"\r\n'
        b'"202403";NORDESTE;18;"05";"18";12.00\r\n'
        b'"202403";MARTE;18;"05";"18";12.00\r\n'
        b'"202403";SUL;18;"05";"25";12.00\r\n')
    first = _run(["prices", "import", str(csv), "--source", "ccee-2024"], pg_dsn, tmp_path)
    assert first.returncode == 1, first.stderr
    assert "2 rows read, 2 bad; 2 inserted, 0 updated, 0 unchanged" in first.stdout
    assert f"{csv}:4: unknown SUBMERCADO 'MARTE'" in first.stderr
    assert f"{csv}:5: HORA '25' is not in 0..23" in first.stderr
    # 2024-03-05 18:00 in Sao Paulo (a Tuesday, peak) = 21:00 UTC; 12.00 clamps to 61.07
    assert asyncio.run(_rows(pg_dsn)) == [
        ("NE", "2024-03-05T21:00:00+00:00", 6107, True, "ccee-2024"),
        ("SE_CO", "2024-03-05T21:00:00+00:00", 51966, True, "ccee-2024")]
    again = _run(["prices", "import", str(csv), "--source", "ccee-2024"], pg_dsn, tmp_path)
    assert "0 inserted, 0 updated, 2 unchanged" in again.stdout


def test_import_refuses_what_is_not_a_pld_file(pg_dsn: str, tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a;b\n1;2\n")
    done = _run(["prices", "import", str(bad)], pg_dsn, tmp_path)
    assert done.returncode == 2 and "not a CCEE pld_horario CSV" in done.stderr
    missing = _run(["prices", "import", str(tmp_path / "none.csv")], pg_dsn, tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    name = _run(["prices", "import", str(bad), "--source", "forecast"], pg_dsn, tmp_path)
    assert name.returncode == 2 and "--source" in name.stderr
