"""What storing the device model costs on the real PostgreSQL (issue 18, part 1).

    python -m bench.device_model [--stations 50] [--parts 10] [--attrs 50] [--events 20]

Drives the handlers the ChargePoint actor awaits before it answers (StationSide from
sigec_actors.device_model) on a scratch database (created on DATABASE_URL's server, migrated,
dropped): every station sends a FullInventory of `parts` NotifyReport parts of `attrs`
attributes, then (a second phase) `events` NotifyEvent messages of 5 events each; all
stations at once, one message in flight per station. Prints per-message latency (median,
p99) and rows/s per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime

from bench.txevents import scratch_database
from sigec_actors.adapters.pg import create_pool
from sigec_actors.device_model.handlers import StationSide
from sigec_actors.device_model.pg import PgDeviceModel
from sigec_actors.ocpp.generated import v201 as m

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _now() -> datetime:
    return datetime.now(UTC)


def _report(request_id: int, seq: int, attrs: int, last: bool) -> m.NotifyReportRequest:
    data = tuple(m.ReportData(
        component=m.Component(name=f"Ctrlr{seq}", evse=m.EVSE(id=1 + i % 2)),
        variable=m.Variable(name=f"Var{i}"),
        variable_attribute=(m.VariableAttribute(value=str(i), type=m.AttributeEnum.ACTUAL),),
        variable_characteristics=m.VariableCharacteristics(
            data_type=m.DataEnum.INTEGER, supports_monitoring=True)) for i in range(attrs))
    return m.NotifyReportRequest(request_id=request_id, generated_at=_now(), seq_no=seq,
                                 report_data=data, tbc=not last)


def _events(seq: int) -> m.NotifyEventRequest:
    data = tuple(m.EventData(
        event_id=i, timestamp=_now(), trigger=m.EventTriggerEnum.DELTA, actual_value=str(i),
        event_notification_type=m.EventNotificationEnum.PRECONFIGURED_MONITOR,
        component=m.Component(name="EVSE"), variable=m.Variable(name="Power"))
        for i in range(5))
    return m.NotifyEventRequest(generated_at=_now(), seq_no=seq, event_data=data)


async def _reports(side: StationSide, station_id: str, args: argparse.Namespace,
                   samples: list[float]) -> None:
    for seq in range(args.parts):
        started = time.perf_counter()
        await side.notify_report(station_id, _report(1, seq, args.attrs, seq == args.parts - 1))
        samples.append(time.perf_counter() - started)


async def _notify(side: StationSide, station_id: str, args: argparse.Namespace,
                  samples: list[float]) -> None:
    for seq in range(args.events):
        started = time.perf_counter()
        await side.notify_event(station_id, _events(seq))
        samples.append(time.perf_counter() - started)


def _line(name: str, samples: list[float], rows_each: int, wall_s: float) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"| {name} | {len(samples)} | {statistics.median(samples) * 1000:.1f} | "
            f"{p99 * 1000:.1f} | {len(samples) * rows_each / wall_s:,.0f} |")


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(os.environ.get("DATABASE_URL", DEFAULT_DSN)) as dsn:
        pool = await create_pool(dsn, min_size=2, max_size=10)
        ids = [f"BENCH-{i}" for i in range(args.stations)]
        async with pool.acquire() as conn:
            await conn.executemany("INSERT INTO charge_points (id) VALUES ($1)",
                                   [(i,) for i in ids])
        side = StationSide(PgDeviceModel(pool), _now)
        reports: list[float] = []
        events: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*[_reports(side, i, args, reports) for i in ids])
        reports_s = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.gather(*[_notify(side, i, args, events) for i in ids])
        events_s = time.perf_counter() - started
        await pool.close()
    print(f"{args.stations} stations at once, one message in flight each (pool of 10)")
    print("| message | count | median ms | p99 ms | rows/s in its phase |")
    print("|---|---|---|---|---|")
    print(_line(f"NotifyReport part ({args.attrs} attributes)", reports, args.attrs, reports_s))
    print(_line("NotifyEvent (5 events)", events, 5, events_s))

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--attrs", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
