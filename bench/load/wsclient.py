"""A lean RFC 6455 client on asyncio.Protocol: the load generator must cost less than the server."""

from __future__ import annotations

import asyncio
import base64
import os
from collections import deque
from typing import Protocol, cast

_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10
# RFC 6455 requires client frames to be masked; an all-zero key is a valid key that leaves the
# payload unchanged, so sending costs no per-byte work (fine for loopback load generation).
_ZERO_MASK = b"\x00\x00\x00\x00"
_MAX_HEADER = 16 * 1024


class Closed(Exception):
    """The connection is closed (by either side)."""


class HandshakeError(Exception):
    """The server refused the upgrade (status != 101) or chose no subprotocol."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


def frame_header(opcode: int, length: int) -> bytes:
    """FIN + opcode, MASK bit + length, zero masking key."""
    if length < 126:
        return bytes((0x80 | opcode, 0x80 | length)) + _ZERO_MASK
    if length < 1 << 16:
        return bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big") + _ZERO_MASK
    return bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big") + _ZERO_MASK


class Listener(Protocol):
    """Takes every message of a connection in the protocol callback (no task switch per message)."""

    def on_message(self, message: bytes) -> None: ...

    def on_close(self) -> None: ...


class WsClient(asyncio.Protocol):
    """One client connection; `recv` returns whole text/binary messages as bytes, or a `Listener`
    set with `listen` gets them straight from `data_received`."""

    __slots__ = ("_buf", "_fragments", "_handshake", "_inbox", "_listener", "_waiter", "closed",
                 "transport")

    def __init__(self, handshake: asyncio.Future[None]) -> None:
        self.transport: asyncio.Transport | None = None
        self._handshake: asyncio.Future[None] | None = handshake
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._inbox: deque[bytes] = deque()
        self._waiter: asyncio.Future[bytes] | None = None
        self._listener: Listener | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but have the same methods
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if self._handshake is None and not self._buf:
            listener = self._listener
            # the hot path: `data` is exactly one short unmasked final text frame
            if (listener is not None and len(data) > 1 and data[0] == 0x81 and data[1] < 126
                    and len(data) == data[1] + 2):
                listener.on_message(data[2:])
                return
            # else whole frames in `data`: parse them in place, keep only a tail
            used = self._read_frames(data)
            if used < len(data):
                self._buf += data[used:]
            return
        self._buf += data
        if self._handshake is not None and not self._read_handshake():
            return
        del self._buf[:self._read_frames(self._buf)]

    def _read_handshake(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEADER:
                self._fail_handshake(HandshakeError(0, "response head too large"))
            return False
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
        if status != 101:
            self._fail_handshake(HandshakeError(status, parts[2] if len(parts) > 2 else ""))
            return False
        if "sec-websocket-protocol" not in headers:
            self._fail_handshake(HandshakeError(101, "no subprotocol negotiated"))
            return False
        fut, self._handshake = self._handshake, None
        if fut is not None and not fut.done():
            fut.set_result(None)
        return True

    def _fail_handshake(self, exc: HandshakeError) -> None:
        fut, self._handshake = self._handshake, None
        if fut is not None and not fut.done():
            fut.set_exception(exc)
        self.abort()

    def _read_frames(self, buf: bytes | bytearray) -> int:
        """Deliver every whole frame in `buf`; returns how many bytes they took."""
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if b1 & 0x80:  # servers must not mask; unmask anyway rather than choke
                head += 4
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head:pos + head + length])
            if b1 & 0x80:
                key = buf[pos + head - 4:pos + head]
                payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
            pos += head + length
            if b0 == 0x81 and self._listener is not None:  # FIN + text: the hot path
                self._listener.on_message(payload)
            else:
                self._frame(b0 & 0x0F, bool(b0 & 0x80), payload)
            if self.closed:
                break
        return pos

    def _frame(self, opcode: int, fin: bool, payload: bytes) -> None:
        if opcode in (_OP_TEXT, _OP_BINARY, _OP_CONT):
            if not fin:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments.clear()
            self._deliver(payload)
        elif opcode == _OP_PING:
            self._write(_OP_PONG, payload)
        elif opcode == _OP_CLOSE:
            self._write(_OP_CLOSE, payload[:2])
            self.abort()

    def _deliver(self, message: bytes) -> None:
        if self._listener is not None:
            self._listener.on_message(message)
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(message)
        else:
            self._inbox.append(message)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(frame_header(opcode, len(payload)) + payload)

    def listen(self, listener: Listener | None) -> None:
        """Hand every message (queued ones first) to `listener`; None goes back to `recv`."""
        self._listener = listener
        while listener is not None and self._inbox and self._listener is listener:
            listener.on_message(self._inbox.popleft())
        if listener is not None and self.closed:
            listener.on_close()

    def send_frame(self, frame: bytes) -> None:
        """Write bytes that already are one whole masked frame (header included)."""
        if self.closed:
            raise Closed("send on a closed connection")
        assert self.transport is not None
        self.transport.write(frame)

    def send_text(self, payload: bytes) -> None:
        """Queue one text frame (payload is UTF-8 JSON already)."""
        if self.closed:
            raise Closed("send on a closed connection")
        self._write(_OP_TEXT, payload)

    async def recv(self) -> bytes:
        """The next message; raises Closed once the connection is gone."""
        if self._inbox:
            return self._inbox.popleft()
        if self.closed:
            raise Closed("connection closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            return await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(Closed("closed during the handshake"))
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(Closed("connection closed"))
        if self._listener is not None:
            self._listener.on_close()

    def abort(self) -> None:
        """Drop the connection now (RST); no closing handshake."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


async def open_ws(host: str, port: int, path: str, subprotocol: str,
                  headers: dict[str, str]) -> WsClient:
    """TCP connect and upgrade; raises HandshakeError, Closed or OSError."""
    loop = asyncio.get_running_loop()
    handshake: asyncio.Future[None] = loop.create_future()
    _transport, client = await loop.create_connection(lambda: WsClient(handshake), host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n"
               f"{extra}\r\n")
    assert client.transport is not None
    client.transport.write(request.encode("latin-1"))
    try:
        await handshake
    except BaseException:
        client.abort()
        raise
    return client
