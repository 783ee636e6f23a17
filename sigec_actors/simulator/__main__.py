"""CLI: `python -m sigec_actors.simulator --url ws://127.0.0.1:9000/ocpp --id CP-1 [--v2g]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import websockets

from sigec_actors.simulator.charging import ChargingStation
from sigec_actors.simulator.firmware import FAILURES, FirmwareOptions
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from sigec_actors.simulator.v2g import V2GOptions


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
    fw = parser.add_argument_group("firmware updates (UpdateFirmware)")
    fw.add_argument("--firmware-step-s", type=float, default=1.0,
                    help="wait between two FirmwareStatusNotifications")
    fw.add_argument("--firmware-fail", default=None, choices=sorted(FAILURES),
                    help="end the update with this failure status")
    fw.add_argument("--firmware-fail-attempts", type=int, default=0,
                    help="with --firmware-fail: fail only the first N attempts (0: all)")
    fw.add_argument("--firmware-offline-s", type=float, default=0.0,
                    help="stay offline this long while rebooting into the new firmware")
    v2g = parser.add_argument_group("bidirectional (V2G) mode")
    v2g.add_argument("--v2g", action="store_true",
                     help="a car battery per EVSE: a TxProfile limit < 0 W discharges into the "
                          "grid, > 0 W charges; --transaction then stays open (until the CSMS "
                          "stops it or SIGINT/SIGTERM) with meter values every interval")
    v2g.add_argument("--soc", type=float, default=80.0, help="the car's SoC at start (%%)")
    v2g.add_argument("--battery-wh", type=int, default=60_000, help="battery capacity (Wh)")
    v2g.add_argument("--meter-interval-s", type=float, default=10.0,
                     help="TransactionEvent Updated period, in simulated seconds")
    v2g.add_argument("--time-scale", type=float, default=1.0,
                     help="simulated seconds per wall second (timestamps run that fast)")
    v2g.add_argument("--ev-max-w", type=int, default=None,
                     help="the car charges on its own at this power, capped by the charging "
                          "profile in force (site load balancing); needs --v2g")
    v2g.add_argument("--reject-profiles", action="store_true",
                     help="answer every SetChargingProfile with Rejected")
    args = parser.parse_args(argv)
    if not 0 <= args.soc <= 100:
        parser.error("--soc must be within 0..100")
    for name in ("battery_wh", "meter_interval_s", "time_scale"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.ev_max_w is not None and (not args.v2g or args.ev_max_w <= 0):
        parser.error("--ev-max-w needs --v2g and a positive power")
    return args


def config_of(args: argparse.Namespace) -> SimConfig:
    """The station's SimConfig from the command line."""
    refuse = {a for a in args.refuse.split(",") if a}
    if args.reject_profiles:
        refuse.add("SetChargingProfile")
    v2g = V2GOptions(soc=args.soc, battery_wh=args.battery_wh,
                     meter_interval_s=args.meter_interval_s,
                     time_scale=args.time_scale) if args.v2g else None
    firmware = FirmwareOptions(step_s=args.firmware_step_s, fail=args.firmware_fail,
                               fail_attempts=args.firmware_fail_attempts,
                               offline_s=args.firmware_offline_s)
    return SimConfig(station_id=args.station_id, evses=args.evses, delay_s=args.delay_s,
                     refuse=frozenset(refuse), v2g=v2g, firmware=firmware)


async def run(args: argparse.Namespace) -> int:
    kind = SimulatedStation if args.ev_max_w is None else ChargingStation
    station = await kind.connect(args.url, config_of(args), password=args.password)
    if isinstance(station, ChargingStation):
        station.ev_max_w = args.ev_max_w
    async with station:
        boot = await station.boot()
        print(f"{args.station_id}: boot {boot.status}, interval {boot.interval}", flush=True)
        if boot.status != "Accepted":
            return 1
        for evse_id in range(1, args.evses + 1):
            await station.status(evse_id, 1, "Available")
        if args.transaction and not args.v2g:
            tx = await station.run_transaction(args.transaction)
            print(f"{args.station_id}: transaction {tx.transaction_id} done", flush=True)
        elif args.transaction:
            tx = await station.start_transaction(args.transaction)
            print(f"{args.station_id}: transaction {tx.transaction_id} started", flush=True)
        await _heartbeats(station, args.heartbeat_s or float(boot.interval))
        for evse_id in list(station.transactions):
            with contextlib.suppress(websockets.ConnectionClosed):
                await station.end_transaction(evse_id)
    return 0


async def _heartbeats(station: SimulatedStation, period: float) -> None:
    """Heartbeat until the connection closes or SIGINT/SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
            if not stop.is_set():
                await station.heartbeat()
    except websockets.ConnectionClosed:
        print(f"{station.config.station_id}: connection closed", flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
