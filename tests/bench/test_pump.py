"""The load client's hot path: frame parsing across reads, id matching, the closed-loop pump."""

from __future__ import annotations

import asyncio
import multiprocessing as mp

import msgspec
from websockets.asyncio.server import ServerConnection, serve

from bench.load import stats
from bench.load.config import LoadConfig
from bench.load.frames import answers
from bench.load.pump import ClosedLoop, Template, hex_id
from bench.load.station import Station, WorkerCtx
from bench.load.wsclient import WsClient, open_ws


class Transport:
    """Stands in for the socket under a WsClient: records what the client writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True


class Inbox:
    """A Listener that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.closed = False

    def on_message(self, message: bytes) -> None:
        self.messages.append(message)

    def on_close(self) -> None:
        self.closed = True


def _server_frame(payload: bytes, opcode: int = 1, fin: bool = True,
                  mask: bytes | None = None) -> bytes:
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes((first, bit | n))
    elif n < 1 << 16:
        head = bytes((first, bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, bit | 127)) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


async def _client() -> tuple[WsClient, Transport, Inbox]:
    client = WsClient(asyncio.get_running_loop().create_future())
    client._handshake = None  # as after a 101: these tests start at the frame layer
    transport = Transport()
    client.connection_made(transport)  # type: ignore[arg-type]
    inbox = Inbox()
    client.listen(inbox)
    return client, transport, inbox


async def test_frames_split_and_joined_across_reads() -> None:
    client, transport, inbox = await _client()
    short, medium, large = b'[3,"1",{}]', b'[3,"2","' + b"m" * 300 + b'"]', b"L" * 70_000
    stream = (_server_frame(short) + _server_frame(medium) + _server_frame(large)
              + _server_frame(b"part1-", fin=False) + _server_frame(b"part2", opcode=0)
              + _server_frame(b"masked", mask=b"\x01\x02\x03\x04"))
    for cut in (1, 7, 4096):  # byte by byte, odd chunks, socket-sized reads
        inbox.messages.clear()
        for i in range(0, len(stream), cut):
            client.data_received(stream[i:i + cut])
        assert inbox.messages == [short, medium, large, b"part1-part2", b"masked"]
        assert not client._buf
    client.data_received(_server_frame(b"ping!", opcode=9))
    assert transport.written == [b"\x8a\x85\x00\x00\x00\x00ping!"]  # masked pong, same payload
    client.data_received(_server_frame(b"\x03\xe8", opcode=8))
    assert transport.aborted
    assert client.closed


async def test_messages_queued_before_listen_are_delivered_in_order() -> None:
    client, _transport, inbox = await _client()
    client.listen(None)
    client.data_received(_server_frame(b"a") + _server_frame(b"b"))
    assert await client.recv() == b"a"
    client.listen(inbox)
    client.data_received(_server_frame(b"c"))
    assert inbox.messages == [b"b", b"c"]
    client.connection_lost(None)
    assert inbox.closed


def test_answers_matches_by_id() -> None:
    uid = hex_id(0x2A)
    assert uid == b"0000002a"
    assert answers(b'[3,"0000002a",{"currentTime":"x"}]', uid)
    assert answers(b'[4,"0000002a","InternalError","",{}]', uid)
    assert answers(b'[ 3, "0000002a", {} ]', uid)  # not compact: decoded
    assert not answers(b'[3,"0000002b",{}]', uid)
    assert not answers(b'[3,"0000002a0",{}]', uid)  # a longer id with the same prefix
    assert not answers(b'[2,"0000002a","Reset",{}]', uid)  # a CSMS CALL reusing the id
    assert not answers(b"not json", uid)


def test_template_is_one_masked_text_frame() -> None:
    tail = b'","DataTransfer",{"data":"' + b"x" * 200 + b'"}]'
    frame = Template("DataTransfer", tail).frame(hex_id(7))
    assert frame[0] == 0x81  # FIN + text
    assert frame[1] == 0x80 | 126  # masked, 16-bit length
    length = int.from_bytes(frame[2:4], "big")
    assert frame[4:8] == b"\x00\x00\x00\x00"  # the zero key: payload bytes unchanged
    assert len(frame) == 8 + length
    assert frame[8:].startswith(b'[2,"00000007","DataTransfer"')


def _ctx(url: str) -> WorkerCtx:
    ctx = WorkerCtx(LoadConfig(url=url), mp.RawArray("q", stats.N_COUNTERS),
                    mp.RawArray("d", 3))
    ctx.measuring = True
    return ctx


async def test_closed_loop_against_a_real_server() -> None:
    """Every CALL is valid OCPP on a real server's parser; a stray answer and a CSMS CALL
    in between do not count as round trips; the loop ends when the worker stops."""
    seen: list[list[object]] = []
    csms_answers: list[list[object]] = []
    ctx_box: list[WorkerCtx] = []

    async def csms(ws: ServerConnection) -> None:
        async for raw in ws:
            msg = msgspec.json.decode(raw)
            if msg[0] == 3:
                csms_answers.append(msg)
                continue
            seen.append(msg)
            if len(seen) == 2:  # a stray result and a CSMS CALL before the real answer
                await ws.send(b'[3,"nope",{}]', text=True)
                await ws.send(b'[2,"csms-1","Reset",{"type":"Immediate"}]', text=True)
            if len(seen) == 6:
                ctx_box[0].stop_now = True
            await ws.send(msgspec.json.encode([3, msg[1], {"currentTime": "x"}]), text=True)

    async with serve(csms, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        ctx = _ctx(f"ws://127.0.0.1:{port}/ocpp")
        ctx_box.append(ctx)
        station = Station(ctx, "CP1")
        station.ws = await open_ws("127.0.0.1", port, "/ocpp/CP1", "ocpp2.0.1", {})
        await asyncio.wait_for(ClosedLoop(station, ("Heartbeat", "StatusNotification")).run(), 10)
        station.ws.abort()
    assert [m[2] for m in seen] == ["Heartbeat", "StatusNotification"] * 3
    assert [m[1] for m in seen] == [hex_id(i).decode() for i in range(1, 7)]
    assert ctx.counters[stats.MESSAGES] == 6
    assert ctx.counters[stats.CSMS_CALLS] == 1
    assert csms_answers == [[3, "csms-1", {"status": "Accepted"}]]
    assert dict(ctx.stats.errors) == {"unmatched-id": 1}
    assert [len(ctx.samples[a]) for a in ("Heartbeat", "StatusNotification")] == [3, 3]
    ctx.fold_samples()
    assert ctx.stats.latency["Heartbeat"].count == 3
