"""The CCEE pld_horario parser on both layouts, the limits table, peak hours and the fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sigec_actors.v2g.ccee_csv import BadPldFile, parse_csv, parse_record, to_csv
from sigec_actors.v2g.fixture import FIXTURE_PATH, load_fixture, project, synthetic_week
from sigec_actors.v2g.limits import LIMITS, clamp, limits_for
from sigec_actors.v2g.peak import PeakWindow, is_peak
from sigec_actors.v2g.pricing import Submarket

OLD_LAYOUT = (
    b'"MES_REFERENCIA";"SUBMERCADO";"PERIODO_COMERCIALIZACAO";"DIA";"HORA";"PLD_HORA"\r\n'
    b'"202401";NORDESTE;1;"01";"00";61.07\r\n'
    b'"202401";"SUDESTE";2;"01";"01";"123,45"\r\n'
)
NEW_LAYOUT = (
    b"MES_REFERENCIA;SUBMERCADO;PERIODO_COMERCIALIZACAO;DIA;HORA;PLD_HORA\n"
    b"202609;NORDESTE;241;11;0;157.31\n"
    b"202602;SUL;2;1;1;1.234,565\n"
)


def test_the_quoted_zero_padded_crlf_layout() -> None:
    parsed = parse_csv(OLD_LAYOUT)
    assert parsed.errors == []
    first, second = parsed.rows
    # 01/01/2024 00:00 in Sao Paulo (UTC-3) is 03:00 UTC
    assert (first.line, first.submarket, first.hour_start, first.pld_centavos_per_mwh) == (
        2,
        Submarket.NE,
        datetime(2024, 1, 1, 3, tzinfo=UTC),
        6107,
    )
    assert (second.submarket, second.hour_start, second.pld_centavos_per_mwh) == (
        Submarket.SE,
        datetime(2024, 1, 1, 4, tzinfo=UTC),
        12345,
    )


def test_the_plain_lf_layout_and_comma_decimals() -> None:
    parsed = parse_csv(NEW_LAYOUT)
    assert parsed.errors == []
    ne, sul = parsed.rows
    assert (ne.submarket, ne.hour_start, ne.pld_centavos_per_mwh) == (
        Submarket.NE,
        datetime(2026, 9, 11, 3, tzinfo=UTC),
        15731,
    )
    # 1.234,565 R$/MWh -> 123456.5 centavos -> 123456 (half-even)
    assert (sul.submarket, sul.pld_centavos_per_mwh) == (Submarket.S, 123456)


def test_latin1_bom_and_bad_rows_are_reported_with_their_line() -> None:
    data = (
        b"\xef\xbb\xbfMES_REFERENCIA;SUBMERCADO;PERIODO_COMERCIALIZACAO;DIA;HORA;PLD_HORA\n"
        b"202602;SUDESTE;1;1;0;300.00\n"
        b"202602;CENTRO\xc9;1;1;0;300.00\n"  # latin-1 E acute, unknown submarket
        b"202602;SUL;1;1;24;300.00\n"
        b"202602;SUL;1;30;1;300.00\n"
        b"202602;SUL;1;1;1;abc\n"
        b"202602;SUL;1;1\n"
        b"\n"
        b"2026-2;NORTE;1;1;1;1\n"
    )
    parsed = parse_csv(data)
    assert len(parsed.rows) == 1
    assert [(e.line, e.reason.split(" ")[0]) for e in parsed.errors] == [
        (3, "unknown"),
        (4, "HORA"),
        (5, "day"),
        (6, "PLD_HORA"),
        (7, "4"),
        (9, "MES_REFERENCIA"),
    ]
    assert "CENTRO\u00c9" in parsed.errors[0].reason


def test_a_file_without_the_header_is_refused() -> None:
    with pytest.raises(BadPldFile, match="PLD_HORA"):
        parse_csv(b"MES_REFERENCIA;SUBMERCADO;DIA;HORA\n202602;SUL;1;1\n")
    with pytest.raises(BadPldFile):
        parse_csv(b"")


def test_a_ckan_record_with_numbers_parses_like_a_csv_row() -> None:
    record = {
        "_id": 7,
        "MES_REFERENCIA": 202603,
        "SUBMERCADO": "SUDESTE",
        "PERIODO_COMERCIALIZACAO": 1,
        "DIA": 2,
        "HORA": 18,
        "PLD_HORA": 519.66,
    }
    row = parse_record(record, 7)
    assert (row.hour_start, row.pld_centavos_per_mwh) == (
        datetime(2026, 3, 2, 21, tzinfo=UTC),
        51966,
    )


def test_to_csv_round_trips() -> None:
    rows = synthetic_week()
    parsed = parse_csv(to_csv(rows).encode("latin-1"))
    assert parsed.errors == []
    assert [(r.submarket, r.hour_start, r.pld_centavos_per_mwh) for r in parsed.rows] == rows


def test_the_shipped_fixture_is_what_the_generator_writes() -> None:
    assert FIXTURE_PATH.read_bytes() == to_csv(synthetic_week()).encode("latin-1")
    rows = load_fixture()
    assert len(rows) == 7 * 24 * 4
    limits = LIMITS[2026]
    assert all(
        limits.min_centavos <= r.pld_centavos_per_mwh <= limits.max_hourly_centavos for r in rows
    )
    assert b"\r" not in FIXTURE_PATH.read_bytes() and b'"' not in FIXTURE_PATH.read_bytes()


def test_the_fixture_projects_onto_any_days_by_weekday_and_hour() -> None:
    rows = load_fixture()
    prices = project(rows, date(2031, 5, 1), 3)
    assert len(prices) == 3 * 24 * 4
    assert {p.source for p in prices} == {"fixture"}
    # 2031-05-01 is a Thursday (and Labour Day: not peak); the fixture's Thursday is 2026-02-05
    thursday_19 = {
        r.submarket: r.pld_centavos_per_mwh
        for r in rows
        if r.hour_start == datetime(2026, 2, 5, 22, tzinfo=UTC)
    }
    projected = {
        p.submarket: p for p in prices if p.hour_start == datetime(2031, 5, 1, 22, tzinfo=UTC)
    }
    assert {s: p.pld_centavos_per_mwh for s, p in projected.items()} == thursday_19
    assert not any(p.is_peak for p in projected.values())
    friday = datetime(2031, 5, 2, 22, tzinfo=UTC)
    assert all(p.is_peak for p in prices if p.hour_start == friday)


def test_limits_table_and_nearest_year() -> None:
    assert (limits_for(2025).min_centavos, limits_for(2025).max_hourly_centavos) == (5860, 154223)
    later = limits_for(2030)
    assert (later.min_centavos, later.max_hourly_centavos, later.exact) == (5731, 161104, False)
    assert limits_for(2019).min_centavos == 6107
    hour = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert (clamp(1, hour), clamp(10**9, hour), clamp(30_000, hour)) == (5731, 161104, 30_000)
    # 2025-12-31 23:00 in Sao Paulo is 2026-01-01 02:00 UTC: the Brazilian year counts
    assert clamp(1, datetime(2026, 1, 1, 2, tzinfo=UTC)) == 5860


def test_peak_hours_on_working_days_only() -> None:
    window = PeakWindow()
    tuesday = datetime(2026, 3, 10, 21, tzinfo=UTC)  # 18:00 in Sao Paulo
    assert is_peak(tuesday, window)
    assert is_peak(tuesday + timedelta(hours=2), window)  # 20:00
    assert not is_peak(tuesday + timedelta(hours=3), window)  # 21:00: the window ends
    assert not is_peak(tuesday - timedelta(hours=1), window)  # 17:00
    assert not is_peak(tuesday + timedelta(days=4), window)  # Saturday
    consciencia_negra = datetime(2026, 11, 20, 21, tzinfo=UTC)  # national holiday, a Friday
    assert not is_peak(consciencia_negra, window)
    revolucao = datetime(2026, 7, 9, 21, tzinfo=UTC)  # Sao Paulo state holiday, a Thursday
    assert is_peak(revolucao, window)
    assert not is_peak(revolucao, PeakWindow(subdivision="SP"))
