"""`python -m bench [suite|run|sweep|plot]`: the command line of the bench harness."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.load import micro, suite
from bench.load.config import SCENARIOS, LoadConfig
from bench.load.limits import raise_nofile


def _load_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `run` and `sweep` (see bench/README.md for each)."""
    d = LoadConfig()
    p.add_argument("--target", action="append", dest="targets", metavar="T",
                   help="bare | ocpp-lib | sigec | sigec-wN; repeat (default: bare, ocpp-lib)")
    p.add_argument("--workers", type=int, default=d.workers,
                   help=f"load worker processes (default: {d.workers})")
    p.add_argument("--ramp", type=float, default=d.ramp_s, dest="ramp_s",
                   help="spread connects over this many s (0 = all at once)")
    p.add_argument("--duration", type=float, dest="duration_s",
                   help="measured window, s (boot-storm: hold after all booted)")
    p.add_argument("--connect-timeout", type=float, default=d.connect_timeout_s,
                   dest="connect_timeout_s", help="bound on the connect+boot phase, s")
    p.add_argument("--heartbeat-every", type=float, default=d.heartbeat_every_s,
                   dest="heartbeat_every_s", help="s per station; 0 with --status-every 0 = "
                                                  "closed loop")
    p.add_argument("--status-every", type=float, default=d.status_every_s,
                   dest="status_every_s", help="StatusNotification period per station, s")
    p.add_argument("--meter-every", type=float, default=d.meter_every_s, dest="meter_every_s")
    p.add_argument("--tx-length", type=float, default=d.tx_length_s, dest="tx_length_s")
    p.add_argument("--meter-values", action="store_true",
                   help="transactions: MeterValues instead of TransactionEvent Updated")
    p.add_argument("--call-timeout", type=float, default=d.call_timeout_s, dest="call_timeout_s")
    p.add_argument("--reconnect-max", type=float, default=d.reconnect_max_s,
                   dest="reconnect_max_s", help="reconnect after a random delay up to this, s")
    p.add_argument("--commands-per-s", type=float, default=d.commands_per_s,
                   dest="commands_per_s", help="commands scenario: REST commands per second")
    p.add_argument("--password", default="", help="Basic-auth password for every station")
    p.add_argument("--id-prefix", default=d.id_prefix, dest="id_prefix")
    p.add_argument("--client-nice", type=int, default=d.client_nice, dest="client_nice",
                   help="niceness of the load workers (0 = same priority as the server)")
    p.add_argument("--client-loop", choices=("uvloop", "asyncio"), default=d.client_loop,
                   dest="client_loop", help="event loop of the load workers (uvloop falls back "
                                            "to asyncio when not installed)")
    p.add_argument("--client-sched", choices=("normal", "batch"), default=d.client_sched,
                   dest="client_sched", help="batch: load workers under SCHED_BATCH (a woken "
                                             "worker does not preempt the server)")
    p.add_argument("--append", action="store_true", help="append the table to RESULTS.md")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "SIGEC-VE bench: OCPP load against SIGEC and reference peers, side by side. "
        "No command = the short default suite (what `make bench` runs)."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    st = sub.add_parser("suite", help="the default suite (steady, boot-storm, micro-benchmarks)")
    st.add_argument("--target", action="append", dest="targets", metavar="T",
                    help=f"default: {', '.join(suite.DEFAULT_TARGETS)}")
    st.add_argument("--steady-stations", type=int, default=1000)
    st.add_argument("--steady-s", type=float, default=20.0)
    st.add_argument("--boot-stations", type=int, default=2000)
    st.add_argument("--workers", type=int, default=LoadConfig().workers,
                    help="load worker processes")
    st.add_argument("--no-micro", action="store_true", help="skip bench.codec / bench.actors")
    st.add_argument("--no-append", action="store_true", help="do not touch RESULTS.md")
    run = sub.add_parser("run", help="one scenario against one or more targets")
    run.add_argument("scenario", choices=SCENARIOS)
    run.add_argument("--stations", type=int, default=1000)
    run.add_argument("--repeat", type=int, default=1,
                     help="run the targets in turn this many times; the table shows medians")
    _load_flags(run)
    sweep = sub.add_parser("sweep", help="steady at several station counts (input of `plot`)")
    sweep.add_argument("--stations", default="100,500,1000,2000,5000",
                       help="comma-separated station counts")
    _load_flags(sweep)
    plot = sub.add_parser("plot", help="PNG of a sweep: latency and throughput vs stations")
    plot.add_argument("json", nargs="?", type=Path, help="sweep JSON (default: newest)")
    plot.add_argument("--out", type=Path, help="PNG path (default: next to the JSON)")
    plot.add_argument("--action", default="Heartbeat", help="whose latency to plot")
    return parser


def _config(args: argparse.Namespace, scenario: str, stations: int) -> LoadConfig:
    fields = {f: getattr(args, f) for f in (
        "workers", "ramp_s", "connect_timeout_s", "heartbeat_every_s", "status_every_s",
        "meter_every_s", "tx_length_s", "meter_values", "call_timeout_s", "reconnect_max_s",
        "commands_per_s", "password", "id_prefix", "client_nice", "client_loop", "client_sched")}
    default_duration = {"boot-storm": 2.0, "reconnect-storm": 2.0}.get(scenario, 20.0)
    return LoadConfig(scenario=scenario, stations=stations,
                      duration_s=args.duration_s or default_duration, **fields)


def cmd_run(args: argparse.Namespace, command: str) -> int:
    configs = [_config(args, args.scenario, args.stations) for _ in range(max(1, args.repeat))]
    targets = args.targets or ["bare", "ocpp-lib"]
    runs = asyncio.run(suite.run_configs(configs, targets, report.OUT_DIR / "logs"))
    suite.finish({"kind": "run", "machine": report.machine(), "runs": runs}, command,
                 args.append)
    return 0


def cmd_sweep(args: argparse.Namespace, command: str) -> int:
    counts = [int(x) for x in args.stations.split(",") if x.strip()]
    configs = [_config(args, "steady", n) for n in counts]
    targets = args.targets or ["bare", "ocpp-lib"]
    runs = asyncio.run(suite.run_configs(configs, targets, report.OUT_DIR / "logs"))
    path = suite.finish({"kind": "sweep", "machine": report.machine(), "runs": runs}, command,
                        args.append)
    print(f"bench: plot it with `python -m bench plot {path}`", file=sys.stderr)
    return 0


def cmd_suite(args: argparse.Namespace, command: str) -> int:
    configs = suite.default_configs(args.steady_stations, args.steady_s, args.boot_stations,
                                    args.workers)
    data: dict[str, Any] = {"kind": "suite", "machine": report.machine()}
    targets = args.targets or list(suite.DEFAULT_TARGETS)
    data["runs"] = asyncio.run(suite.run_configs(configs, targets, report.OUT_DIR / "logs"))
    if not args.no_micro:
        data["micro"] = micro.run_all()
    suite.finish(data, command, append=not args.no_append)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from bench.load.plot import latest_sweep, plot

    source = args.json or latest_sweep()
    if source is None:
        print("bench: no sweep JSON in bench/out; run `python -m bench sweep` first",
              file=sys.stderr)
        return 1
    print(f"bench: plot written to {plot(source, args.out, args.action)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv or ["suite"])
    raise_nofile()
    command = "python -m bench " + shlex.join(argv) if argv else "python -m bench"
    if args.command == "run":
        return cmd_run(args, command)
    if args.command == "sweep":
        return cmd_sweep(args, command)
    if args.command == "plot":
        return cmd_plot(args)
    return cmd_suite(args, command)
