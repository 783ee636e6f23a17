"""Pure aggregation of streamed source rows into a report table (memory bound by groups).

A source row is `(station_id, location_id, location_name, at, *values)`; the aggregator keeps
one list of sums per group (a day, a station or a location), so a year of transactions costs
what its groups cost, never what its rows cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sigec_actors.reports.model import GroupBy, ReportKind, ReportSpec

NO_LOCATION = "(no location)"
Row = list[Any]


@dataclass(frozen=True)
class Table:
    """The report: column names and rows (group columns first, sorted by group)."""

    columns: list[str]
    rows: list[Row]
    chart_column: str  # the measure the PDF charts
    chart_unit: str
    chart_scale: float  # multiply the column's value by it for the chart


@dataclass(frozen=True)
class Measure:
    """One kind: the sums its SQL yields per row, and the columns shown from them."""

    sums: int
    columns: tuple[str, ...]
    out: Callable[[list[int]], Row]
    chart: tuple[str, str, float]  # column, unit, scale


def _ratio(num: int, den: int, scale: float = 1.0, digits: int = 1) -> float:
    return round(num * scale / den, digits) if den else 0.0


MEASURES: dict[ReportKind, Measure] = {
    ReportKind.ENERGY: Measure(3, ("sessions", "energyWh", "energyExportWh"), list,
                               ("energyWh", "kWh", 1e-3)),
    ReportKind.REVENUE: Measure(3, ("sessions", "energyWh", "revenueCentavos"), list,
                                ("revenueCentavos", "R$", 1e-2)),
    ReportKind.TRANSACTIONS: Measure(
        4, ("sessions", "ended", "active", "avgMinutes", "avgEnergyWh"),
        lambda s: [s[0], s[1], s[0] - s[1], _ratio(s[2], s[1], 1 / 60), _ratio(s[3], s[0], 1, 0)],
        ("sessions", "sessions", 1.0)),
    ReportKind.V2G: Measure(4, ("sessions", "completed", "exportedWh", "compensationCentavos"),
                            list, ("exportedWh", "kWh", 1e-3)),
    ReportKind.UPTIME: Measure(
        2, ("onlineHours", "observedHours", "uptimePct"),
        lambda s: [_ratio(s[0], 1, 1 / 3600, 2), _ratio(s[1], 1, 1 / 3600, 2),
                   _ratio(s[0], s[1], 100, 2)],
        ("uptimePct", "%", 1.0)),
}


def group_columns(group_by: GroupBy) -> list[str]:
    return {GroupBy.DAY: ["day"], GroupBy.STATION: ["stationId"],
            GroupBy.LOCATION: ["locationId", "location"]}[group_by]


class Groups:
    """Sums per group key; `table()` renders them (every day of the window for GroupBy.DAY)."""

    def __init__(self, spec: ReportSpec) -> None:
        self.spec = spec
        self.tz = spec.zone()
        self.measure = MEASURES[spec.kind]
        self._sums: dict[str, list[int]] = {}
        self._labels: dict[str, str] = {}

    def key(self, record: Sequence[Any], at: datetime) -> str:
        match self.spec.group_by:
            case GroupBy.DAY:
                return at.astimezone(self.tz).date().isoformat()
            case GroupBy.STATION:
                return str(record[0])
            case GroupBy.LOCATION:
                key = str(record[1] or "")
                self._labels.setdefault(key, str(record[2] or NO_LOCATION))
                return key
        raise AssertionError(self.spec.group_by)  # pragma: no cover

    def sums(self, key: str) -> list[int]:
        found = self._sums.get(key)
        if found is None:
            found = self._sums[key] = [0] * self.measure.sums
        return found

    def table(self) -> Table:
        if self.spec.group_by is GroupBy.DAY:
            for day in _days(self.spec, self.tz):
                self.sums(day.isoformat())
        rows: list[Row] = []
        for key in sorted(self._sums):
            head: Row = [key] if self.spec.group_by is not GroupBy.LOCATION else [
                key, self._labels.get(key, NO_LOCATION)]
            rows.append(head + self.measure.out(self._sums[key]))
        column, unit, scale = self.measure.chart
        return Table(group_columns(self.spec.group_by) + list(self.measure.columns), rows,
                     column, unit, scale)


def _days(spec: ReportSpec, tz: Any) -> list[date]:
    first = spec.from_at.astimezone(tz).date()
    last = (spec.to_at - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class Aggregator:
    """Sums source rows `(station, location_id, location_name, at, *values)` per group."""

    def __init__(self, spec: ReportSpec) -> None:
        self.groups = Groups(spec)
        self.seen = 0

    def add(self, record: Sequence[Any]) -> None:
        self.seen += 1
        sums = self.groups.sums(self.groups.key(record, record[3]))
        for i, value in enumerate(record[4:]):
            sums[i] += int(value or 0)

    def table(self) -> Table:
        return self.groups.table()


class UptimeAggregator:
    """Walks each station's online changes `(station, location_id, location_name, at, online)`,
    ordered by station then time; the first row of a station is its state at the window's start.

    Time after `now` is not counted (the future is neither online nor offline).
    """

    def __init__(self, spec: ReportSpec, now: datetime) -> None:
        self.groups = Groups(spec)
        self.seen = 0
        self._start = spec.from_at
        self._end = max(spec.from_at, min(spec.to_at, now))
        self._last: tuple[Sequence[Any], datetime, bool] | None = None

    def add(self, record: Sequence[Any]) -> None:
        self.seen += 1
        at, online = max(record[3], self._start), bool(record[4])
        last = self._last
        if last is not None and last[0][0] == record[0]:
            self._span(last[0], last[1], at, last[2])
        elif last is not None:
            self._span(last[0], last[1], self._end, last[2])
        self._last = (record, at, online)

    def table(self) -> Table:
        if self._last is not None:
            record, at, online = self._last
            self._span(record, at, self._end, online)
            self._last = None
        return self.groups.table()

    def _span(self, record: Sequence[Any], start: datetime, end: datetime, online: bool) -> None:
        end = min(end, self._end)
        while start < end:
            cut = end
            if self.groups.spec.group_by is GroupBy.DAY:
                local = start.astimezone(self.groups.tz).date() + timedelta(days=1)
                cut = min(end, datetime.combine(local, time(0), tzinfo=self.groups.tz))
            sums = self.groups.sums(self.groups.key(record, start))
            seconds = round((cut - start).total_seconds())
            sums[1] += seconds
            if online:
                sums[0] += seconds
            start = cut
