"""The `sigec` command: serve, migrate, user add, station add, prices import, console."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sigec_actors import __version__
from sigec_actors.config import Settings, load_settings
from sigec_actors.console import add_console_parser, run_console
from sigec_actors.errors import SigecError

ROLES = ("user", "operator", "admin")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command (also used to test --help)."""
    parser = argparse.ArgumentParser(
        prog="sigec", description="SIGEC-VE charging station management system.")
    parser.add_argument("--version", action="version", version=f"sigec {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML overlay merged over config/default.toml (or SIGEC_CONFIG)")
    parser.add_argument("--data-dir", metavar="DIR", help="data directory (SIGEC_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="run the CSMS (embedded PostgreSQL/NATS when no URL is set)")
    serve.add_argument("--bind", help="bind address (SIGEC_BIND)")
    serve.add_argument("--http-port", type=int, help="REST port (SIGEC_HTTP_PORT)")
    serve.add_argument("--ocpp-port", type=int, help="OCPP WebSocket port (SIGEC_OCPP_PORT)")
    serve.add_argument("--workers", type=int,
                       help="node processes; 0 = one inline node, no thespian (SIGEC_WORKERS)")
    serve.add_argument("--join", metavar="HOST:PORT",  # cluster hook
                       help="join the cluster whose director's thespian admin is HOST:PORT "
                            "and host the nodes it places here (private network only)")

    sub.add_parser("migrate", help="apply pending database migrations and exit")

    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    user_add = user.add_parser("add", help="create a user (prints a generated password "
                                           "unless --password-stdin)")
    user_add.add_argument("email")
    user_add.add_argument("--role", choices=ROLES, default="user")
    user_add.add_argument("--name", default="")
    user_add.add_argument("--password-stdin", action="store_true",
                          help="read the password from standard input")

    station = sub.add_parser("station", help="manage charge points").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    station_add = station.add_parser(
        "add", help="register a charge point identity (prints a generated password for "
                    "profiles 1 and 2 unless --password-stdin)")
    station_add.add_argument("id", help="charge point identity (<= 48 chars, no ':')")
    station_add.add_argument("--password-stdin", action="store_true",
                             help="read the Basic-auth password from standard input")
    station_add.add_argument("--security-profile", type=int, choices=(0, 1, 2, 3), default=1,
                             help="0 = no auth, 1 = Basic auth, 2 = TLS + Basic, 3 = mutual TLS")
    station_add.add_argument("--vendor", default=None)
    station_add.add_argument("--model", default=None)
    prices = sub.add_parser("prices", help="V2G grid prices").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    prices_import = prices.add_parser(
        "import", help="load a CCEE pld_horario CSV (either layout; idempotent)")
    prices_import.add_argument("file", type=Path)
    prices_import.add_argument("--source", default="csv",
                               help="source name stored with the rows (default: csv)")
    payments = sub.add_parser("payments", help="wallet top-ups").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    simulate = payments.add_parser(
        "simulate", help="make the running server's fake provider settle a payment and send "
                         "the signed webhook (payments.provider = fake; no money moves)")
    simulate.add_argument("payment_id", metavar="PAYMENT_ID")
    simulate.add_argument("--outcome", choices=("succeeded", "failed", "canceled"),
                          default="succeeded")
    add_console_parser(sub)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    flags = {"data_dir": "server.data_dir", "bind": "server.bind",
             "http_port": "server.http_port", "ocpp_port": "server.ocpp_port",
             "workers": "server.workers"}
    return {key: getattr(args, attr) for attr, key in flags.items()
            if getattr(args, attr, None) is not None}


def _read_secret(flag: bool) -> str | None:
    if not flag:
        return None
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise SigecError("--password-stdin given but standard input was empty")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:  # noqa: PLR0911
    """Dispatch a parsed command; returns the exit code."""
    from sigec_actors import setup
    from sigec_actors.logs import configure_logging
    from sigec_actors.stdio import guard_standard_streams

    if args.command == "serve":  # a long run: a reader that goes away must not stop it
        guard_standard_streams()
    configure_logging(settings.log.format, settings.log.level)
    if args.command == "serve" and args.join:  # cluster hook
        from sigec_actors.cluster.launcher import join_cluster

        return asyncio.run(join_cluster(settings, args.join))
    if args.command == "serve":
        from sigec_actors.server import serve

        return asyncio.run(serve(settings))
    if args.command == "migrate":
        return asyncio.run(setup.migrate_command(settings))
    if args.command == "user":
        password = _read_secret(args.password_stdin)
        return asyncio.run(setup.user_add_command(
            settings, args.email, args.role, args.name, password))
    if args.command == "station":
        password = _read_secret(args.password_stdin)
        return asyncio.run(setup.station_add_command(
            settings, args.id, args.security_profile, password, args.vendor, args.model))
    if args.command == "prices":
        from sigec_actors.v2g.import_cmd import prices_import_command

        return prices_import_command(settings, args.file, args.source)
    if args.command == "payments":
        from sigec_actors.payments.simulate import simulate_command

        return simulate_command(settings, args.payment_id, args.outcome)
    if args.command == "console":
        return run_console(args, settings)
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sigec` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(overlay=args.config, overrides=_overrides(args))
        return run(args, settings)
    except SigecError as exc:
        print(f"sigec: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
