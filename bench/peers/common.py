"""What the peer servers share: the listen loop, fd limits, the READY line, clean SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from bench.load.limits import raise_nofile

Handler = Callable[[ServerConnection], Awaitable[None]]
BACKLOG = 4096  # same for both peers: the kernel accept queue is not what we compare


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    return parser.parse_args()


async def serve_until_signalled(handler: Handler, host: str, port: int, **kwargs: Any) -> None:
    """Listen until SIGTERM/SIGINT; print `READY <port>` once bound."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench peers listen on loopback only")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, host, port, subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                     backlog=BACKLOG, **kwargs) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {bound}", flush=True)
        await stop.wait()
        server.close()  # close frames (1001 going away) to every station, as a restart would


def main(handler: Handler, description: str, **kwargs: Any) -> None:
    """Entry point shared by the peers' `python -m` mains."""
    args = parse_args(description)
    soft, _hard = raise_nofile()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    print(f"NOFILE {soft}", flush=True)
    asyncio.run(serve_until_signalled(handler, args.host, args.port, **kwargs))
