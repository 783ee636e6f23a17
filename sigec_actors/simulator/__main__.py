"""CLI: `python -m sigec_actors.simulator --url ws://127.0.0.1:9000/ocpp --id CP-1 [--password]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import websockets

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sigec_actors.simulator",
                                     description="Run one simulated OCPP 2.0.1 station.")
    parser.add_argument("--url", default="ws://127.0.0.1:9000/ocpp",
                        help="CSMS endpoint; the station id is appended")
    parser.add_argument("--id", required=True, dest="station_id", help="station identity")
    parser.add_argument("--password", default=None, help="Basic-auth password (profile 1/2)")
    parser.add_argument("--evses", type=int, default=1)
    parser.add_argument("--heartbeat-s", type=float, default=None,
                        help="heartbeat period (default: the interval the CSMS returns)")
    parser.add_argument("--transaction", metavar="ID_TOKEN", default=None,
                        help="run one transaction with this idToken after booting")
    parser.add_argument("--delay-s", type=float, default=0.0,
                        help="wait before answering each CSMS command")
    parser.add_argument("--refuse", default="", help="comma-separated actions to refuse")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    config = SimConfig(station_id=args.station_id, evses=args.evses, delay_s=args.delay_s,
                       refuse=frozenset(a for a in args.refuse.split(",") if a))
    station = await SimulatedStation.connect(args.url, config, password=args.password)
    async with station:
        boot = await station.boot()
        print(f"{args.station_id}: boot {boot.status}, interval {boot.interval}", flush=True)
        if boot.status != "Accepted":
            return 1
        for evse_id in range(1, args.evses + 1):
            await station.status(evse_id, 1, "Available")
        if args.transaction:
            tx = await station.run_transaction(args.transaction)
            print(f"{args.station_id}: transaction {tx.transaction_id} done", flush=True)
        period = args.heartbeat_s or float(boot.interval)
        try:
            while True:
                await asyncio.sleep(period)
                await station.heartbeat()
        except websockets.ConnectionClosed:
            print(f"{args.station_id}: connection closed", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
