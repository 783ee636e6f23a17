"""The pure part of reports: grouping, derived columns, uptime intervals, CSV and PDF files."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.reports.actor import percent
from sigec_actors.reports.aggregate import Aggregator, UptimeAggregator
from sigec_actors.reports.model import (
    GroupBy,
    InvalidReport,
    ReportFormat,
    ReportKind,
    ReportSpec,
)
from sigec_actors.reports.render import render, to_csv

D1 = datetime(2026, 3, 1, tzinfo=UTC)


def spec(kind: ReportKind, group: GroupBy, days: int = 3, tz: str = "UTC",
         fmt: ReportFormat = ReportFormat.CSV) -> ReportSpec:
    return ReportSpec(kind=kind, group_by=group, format=fmt, from_at=D1,
                      to_at=D1 + timedelta(days=days), timezone=tz)


def test_energy_by_day_lists_every_day_and_sums_each():
    agg = Aggregator(spec(ReportKind.ENERGY, GroupBy.DAY))
    agg.add(("CP-1", None, None, D1 + timedelta(hours=1), 1, 1000, 0))
    agg.add(("CP-2", None, None, D1 + timedelta(hours=5), 1, 2500, 100))
    agg.add(("CP-1", None, None, D1 + timedelta(days=2, hours=1), 1, 700, 0))
    table = agg.table()
    assert table.columns == ["day", "sessions", "energyWh", "energyExportWh"]
    assert table.rows == [["2026-03-01", 2, 3500, 100], ["2026-03-02", 0, 0, 0],
                          ["2026-03-03", 1, 700, 0]]


def test_days_are_counted_in_the_requested_time_zone():
    agg = Aggregator(spec(ReportKind.ENERGY, GroupBy.DAY, days=2, tz="America/Sao_Paulo"))
    agg.add(("CP-1", None, None, D1 + timedelta(hours=2), 1, 1000, 0))  # 23:00 on Feb 28 local
    rows = agg.table().rows
    assert rows[0] == ["2026-02-28", 1, 1000, 0]
    assert [r[0] for r in rows] == ["2026-02-28", "2026-03-01", "2026-03-02"]


def test_transactions_by_location_derive_averages_and_keep_names():
    agg = Aggregator(spec(ReportKind.TRANSACTIONS, GroupBy.LOCATION))
    agg.add(("CP-1", "L1", "Centro", D1, 1, 1, 1800, 6000))
    agg.add(("CP-2", "L1", "Centro", D1, 1, 1, 3600, 4000))
    agg.add(("CP-3", "L1", "Centro", D1, 1, 0, 0, 500))
    agg.add(("CP-4", None, None, D1, 1, 1, 600, 100))
    table = agg.table()
    assert table.columns == ["locationId", "location", "sessions", "ended", "active",
                             "avgMinutes", "avgEnergyWh"]
    assert table.rows == [["", "(no location)", 1, 1, 0, 10.0, 100.0],
                          ["L1", "Centro", 3, 2, 1, 45.0, 3500.0]]


def test_uptime_splits_intervals_at_midnight_and_ignores_the_future():
    now = D1 + timedelta(days=1, hours=12)
    agg = UptimeAggregator(spec(ReportKind.UPTIME, GroupBy.DAY), now)
    # CP-1 online from the start until 18:00 on day 1, back at 06:00 on day 2
    agg.add(("CP-1", None, None, D1 - timedelta(days=5), True))
    agg.add(("CP-1", None, None, D1 + timedelta(hours=18), False))
    agg.add(("CP-1", None, None, D1 + timedelta(days=1, hours=6), True))
    # CP-2 never online
    agg.add(("CP-2", None, None, D1, False))
    rows = {r[0]: r[1:] for r in agg.table().rows}
    assert rows["2026-03-01"] == [18.0, 48.0, 37.5]
    assert rows["2026-03-02"] == [6.0, 24.0, 25.0]  # up to `now` only (12 h x 2 stations)
    assert rows["2026-03-03"] == [0.0, 0.0, 0.0]


def test_uptime_by_station():
    agg = UptimeAggregator(spec(ReportKind.UPTIME, GroupBy.STATION, days=1), D1 + timedelta(days=9))
    agg.add(("CP-1", None, None, D1, False))
    agg.add(("CP-1", None, None, D1 + timedelta(hours=6), True))
    agg.add(("CP-2", None, None, D1 + timedelta(hours=12), True))  # created at noon
    assert agg.table().rows == [["CP-1", 18.0, 24.0, 75.0], ["CP-2", 12.0, 12.0, 100.0]]


def test_spec_checks_name_the_field():
    bad = [(D1, D1, "UTC", "to"), (D1, D1 + timedelta(days=401), "UTC", "to"),
           (D1.replace(tzinfo=None), D1 + timedelta(days=1), "UTC", "from"),
           (D1, D1 + timedelta(days=1), "Mars/Olympus", "timezone")]
    for start, end, tz, field in bad:
        with pytest.raises(InvalidReport) as err:
            ReportSpec(kind=ReportKind.ENERGY, group_by=GroupBy.DAY, format=ReportFormat.CSV,
                       from_at=start, to_at=end, timezone=tz).check()
        assert err.value.field == field


def test_progress_stays_below_100_until_the_file_is_stored():
    assert [percent(0, 0), percent(1, 3), percent(3, 3), percent(5, 3)] == [0, 33, 99, 99]


def test_csv_has_a_header_and_every_row():
    agg = Aggregator(spec(ReportKind.REVENUE, GroupBy.STATION))
    for i in range(500):
        agg.add((f"CP-{i:03}", None, None, D1, 1, 10, 250))
    parsed = list(csv.reader(io.StringIO(to_csv(agg.table()).decode())))
    assert parsed[0] == ["stationId", "sessions", "energyWh", "revenueCentavos"]
    assert len(parsed) == 501 and parsed[1] == ["CP-000", "1", "10", "250"]


def test_pdf_has_the_chart_title_and_the_rows():
    s = spec(ReportKind.ENERGY, GroupBy.STATION, fmt=ReportFormat.PDF)
    agg = Aggregator(s)
    for i in range(30):
        agg.add((f"CP-{i:02}", None, None, D1, 1, 1000 * i, 0))
    file = render(s, agg.table(), D1)
    assert file.content.startswith(b"%PDF") and file.content_type == "application/pdf"
    assert file.filename == "energy-by-station-20260301-20260304.pdf"
    text = pdf_text(file.content)
    assert rb"energyWh \(kWh\)" in text  # the chart caption (PDF strings escape parentheses)
    assert b"CP-29" in text and b"CP-00" in text  # table rows
    assert text.count(b" re") >= 30  # rectangles: the bars of the chart and the table cells


def pdf_text(pdf: bytes) -> bytes:
    """The decoded page streams of a ReportLab PDF (ASCII85 then Flate)."""
    out = []
    for chunk in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        data = chunk.strip()
        if data.endswith(b"~>"):
            out.append(zlib.decompress(base64.a85decode(data, adobe=True)))
    return b"\n".join(out)


def test_csv_text_cells_never_start_a_formula():
    agg = Aggregator(spec(ReportKind.ENERGY, GroupBy.STATION))
    for station in ("=HYPERLINK(1)", "+CP", "-CP", "@CP", "CP-1"):
        agg.add((station, None, None, D1, 1, 10, 0))
    rows = list(csv.reader(io.StringIO(to_csv(agg.table()).decode())))[1:]
    assert [r[0] for r in rows] == ["'+CP", "'-CP", "'=HYPERLINK(1)", "'@CP", "CP-1"]
    assert rows[0][1:] == ["1", "10", "0"]
