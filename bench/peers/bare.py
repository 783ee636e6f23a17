"""Transport ceiling: answers every CALL with one constant CALLRESULT, echoing only its id."""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.peers.common import main

# Valid enough for every action the bench sends (BootNotification reads status/interval).
_TAIL = b'",{"currentTime":"2025-01-01T00:00:00Z","interval":300,"status":"Accepted"}]'
_QUOTE = ord('"')


async def handler(ws: ServerConnection) -> None:
    """Read frames; for a CALL `[2,"id",...` reply `[3,"id",<constant>]`; ignore anything else."""
    try:
        while True:
            frame = await ws.recv(decode=False)
            assert isinstance(frame, bytes)
            if frame[1:2] != b"2":
                continue
            start = frame.find(b'"') + 1
            end = frame.find(b'"', start)
            await ws.send(b'[3,"' + frame[start:end] + _TAIL, text=True)
    except ConnectionClosed:
        return


if __name__ == "__main__":
    main(handler, "Bare websockets peer: constant CALLRESULT to every CALL",
         compression=None, ping_interval=None)
