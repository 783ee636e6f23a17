"""Every gRPC method in process on the API's fakes: an answer or a mapped status, never a bug."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import msgspec
import pytest

from api.grpc.proto import sigec_pb2 as pb
from api.grpc.proto import sigec_pb2_grpc as rpc
from api.grpc.server import start_grpc, stop_grpc
from tests.api.harness import Api, start_api

NOBODY = "00000000-0000-0000-0000-000000000000"
BUGS = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


@pytest.fixture
async def channel() -> AsyncIterator[tuple[Api, grpc.aio.Channel]]:
    api = await start_api()
    settings = msgspec.structs.replace(api.ctx.settings, server=msgspec.structs.replace(
        api.ctx.settings.server, grpc_port=0, bind="127.0.0.1"))
    server, port = await start_grpc(api.ctx, None, settings)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield api, ch
    await stop_grpc(server)
    await api.close()


def calls(ch: grpc.aio.Channel) -> list[tuple[str, Any]]:
    d, t, v = (rpc.DeviceServiceStub(ch), rpc.TransactionServiceStub(ch),
               rpc.V2GServiceStub(ch))
    return [
        ("GetDevice", lambda md: d.GetDevice(pb.GetDeviceRequest(id="CP-1"), metadata=md)),
        ("ListDevices", lambda md: d.ListDevices(pb.ListDevicesRequest(page_size=3),
                                                 metadata=md)),
        ("ListDevices+token", lambda md: d.ListDevices(
            pb.ListDevicesRequest(page_size=2, page_token="bad"), metadata=md)),
        ("SendCommand", lambda md: d.SendCommand(pb.SendCommandRequest(
            device_id="CP-1", command="availability",
            body_json='{"operationalStatus": "Inoperative"}'), metadata=md)),
        ("SendCommand+bad", lambda md: d.SendCommand(pb.SendCommandRequest(
            device_id="CP-1", command="reset", body_json="{"), metadata=md)),
        ("Get", lambda md: t.Get(pb.GetTransactionRequest(id=NOBODY), metadata=md)),
        ("List", lambda md: t.List(pb.ListTransactionsRequest(status="Ended"), metadata=md)),
        ("Start", lambda md: t.Start(pb.StartTransactionRequest(station_id="CP-1"),
                                     metadata=md)),
        ("Stop", lambda md: t.Stop(pb.StopTransactionRequest(id="nope"), metadata=md)),
        ("GetSession", lambda md: v.GetSession(pb.GetSessionRequest(id=NOBODY), metadata=md)),
        ("StartDischarge", lambda md: v.StartDischarge(pb.StartDischargeRequest(
            station_id="CP-1", min_soc=30), metadata=md)),
        ("StopDischarge", lambda md: v.StopDischarge(pb.StopDischargeRequest(
            session_id="nope"), metadata=md)),
        ("GetGridPrice", lambda md: v.GetGridPrice(pb.GridPriceRequest(submarket="SE"),
                                                   metadata=md)),
    ]


async def test_no_method_fails_as_a_bug(channel: tuple[Api, grpc.aio.Channel]) -> None:
    api, ch = channel
    wrong = []
    for name, call in calls(ch):
        for who in ("user", "admin"):
            try:
                await call((("authorization", f"Bearer {api.tokens[who]}"),))
            except grpc.aio.AioRpcError as exc:
                if exc.code() in BUGS:
                    wrong.append(f"{name} as {who}: {exc.code()} {exc.details()}")
    assert not wrong, "\n".join(wrong)


async def test_a_bug_is_internal_without_its_message(channel: tuple[Api, grpc.aio.Channel]
                                                     ) -> None:
    api, ch = channel
    api.commander.fail_next["CP-1"] = RuntimeError("secret detail")
    with pytest.raises(grpc.aio.AioRpcError) as bug:
        await rpc.DeviceServiceStub(ch).SendCommand(
            pb.SendCommandRequest(device_id="CP-1", command="reset"),
            metadata=(("authorization", f"Bearer {api.tokens['operator']}"),))
    assert bug.value.code() is grpc.StatusCode.INTERNAL
    assert "secret" not in (bug.value.details() or "")
