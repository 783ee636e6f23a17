"""`sigec console`: the operator console (a textual TUI) and `--snapshot` for scripts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import IO, Any

from sigec_actors.config import Settings
from sigec_actors.console.client import (
    ConsoleClient,
    ConsoleError,
    Credentials,
    UsageError,
    server_url,
)
from sigec_actors.console.tree import filter_tree, render_text

__all__ = ["add_console_parser", "run_console"]

PASSWORD_ENV = "SIGEC_CONSOLE_PASSWORD"  # noqa: S105 (a variable name, not a secret)


def add_console_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `console` sub-command to `sigec`'s sub-parsers."""
    console: argparse.ArgumentParser = subparsers.add_parser(
        "console", help="operator console: live actor tree, restart/stop, station commands",
        description="Watch and steer a running server. Exit codes: 0 ok, 1 the server "
                    "answered with an error, 2 bad usage or login refused, 3 server unreachable.")
    console.add_argument("--url", help="REST base URL (default: httpUrl from "
                                       "<data-dir>/runtime.json)")
    # SUPPRESS: an unset sub-command flag must not overwrite `sigec --data-dir DIR console`.
    console.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                         help="data directory holding runtime.json (SIGEC_DATA_DIR)")
    console.add_argument("--email", help="login email (default: SIGEC_ADMIN_EMAIL, "
                                         "admin@sigec.local)")
    console.add_argument("--password-stdin", action="store_true",
                         help=f"read the password from standard input (else {PASSWORD_ENV}, "
                              "else a prompt on a terminal)")
    console.add_argument("--snapshot", action="store_true",
                         help="print the actor tree once as indented text and exit")
    console.add_argument("--json", action="store_true",
                         help="with --snapshot: print the server's JSON unchanged")
    console.add_argument("--filter", default="", metavar="TEXT",
                         help="only paths containing TEXT (case-insensitive), e.g. a station id")
    console.add_argument("--refresh", type=float, default=1.0, metavar="SECONDS",
                         help="TUI refresh interval (default 1)")
    return console


def run_console(args: argparse.Namespace, settings: Settings) -> int:
    """Run `sigec console`; returns the exit code (errors: one line on stderr)."""
    try:
        _check_usage(args)
        url = server_url(args.url, settings.data_dir)
        creds = Credentials(args.email or settings.auth.admin_email, _password(args))
        if args.snapshot:
            return asyncio.run(print_snapshot(url, creds, args.filter, as_json=args.json))
        return asyncio.run(_tui(url, creds, args.filter, args.refresh))
    except ConsoleError as exc:
        print(f"sigec console: {exc}", file=sys.stderr)
        return exc.exit_code


def _check_usage(args: argparse.Namespace) -> None:
    if args.json and not args.snapshot:
        raise UsageError("--json needs --snapshot")
    if args.json and args.filter:
        raise UsageError("--json prints the server's tree unchanged: drop --filter (use jq)")
    if args.password_stdin and not args.snapshot:
        raise UsageError("--password-stdin needs --snapshot (the TUI reads the keyboard from "
                         f"standard input): set {PASSWORD_ENV} or type it at the prompt")
    if args.refresh <= 0:
        raise UsageError("--refresh must be positive")


def _password(args: argparse.Namespace, stdin: IO[str] | None = None) -> str:
    """From stdin (--password-stdin), the environment, or a no-echo prompt on a terminal."""
    stdin = stdin or sys.stdin
    if args.password_stdin:
        value = stdin.readline().rstrip("\r\n")
        if not value:
            raise UsageError("--password-stdin given but standard input was empty")
        return value
    value = os.environ.get(PASSWORD_ENV, "")
    if value:
        return value
    if stdin.isatty():
        try:
            value = getpass.getpass("Password: ")
        except EOFError:
            value = ""
        if value:
            return value
    raise UsageError(f"no password: use --password-stdin or set {PASSWORD_ENV}")


async def print_snapshot(url: str, creds: Credentials, text_filter: str, *,
                         as_json: bool, out: IO[str] | None = None) -> int:
    """Log in, fetch the tree once and print it (text or the server's JSON)."""
    out = out or sys.stdout
    async with ConsoleClient(url, creds) as client:
        if as_json:
            data = await client.snapshot_bytes()
            out.write(data.decode() + ("" if data.endswith(b"\n") else "\n"))
            return 0
        root = await client.snapshot()
    out.write(render_text(filter_tree(root, text_filter)))
    return 0


async def _tui(url: str, creds: Credentials, text_filter: str, refresh_s: float) -> int:
    from sigec_actors.console.app import ConsoleApp  # textual loads only for the TUI

    async with ConsoleClient(url, creds) as client:
        await client.login()  # a refused login is one stderr line, not a TUI
        app = ConsoleApp(client, refresh_s=refresh_s, text_filter=text_filter)
        await app.run_async()
    return app.return_code or 0
