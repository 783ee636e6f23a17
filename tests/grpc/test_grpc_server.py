"""gRPC on a real `sigec serve` with grpcio stubs: the REST matrix's ownership cases as status
codes, a WatchStatus stream receiving a station's StatusNotification, SendCommand reaching the
station, the standard health service and reflection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from api.grpc.proto import sigec_pb2 as pb
from api.grpc.proto import sigec_pb2_grpc as rpc
from tests.graphql.world import World, module_fixtures, rest_status

pytestmark = pytest.mark.asyncio(loop_scope="module")
REST_TO_GRPC = {200: grpc.StatusCode.OK, 401: grpc.StatusCode.UNAUTHENTICATED,
                403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND}


server, world = module_fixtures("grpc")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def channel(world: World) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(world.server.runtime["grpcUrl"]) as ch:
        yield ch


def auth(world: World, who: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {world.tokens[who]}"),) if who else ()


async def status_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("who", [None, "user", "other", "operator", "admin"])
async def test_get_transaction_matches_rest(world: World, channel: grpc.aio.Channel,
                                            who: str | None) -> None:
    stub = rpc.TransactionServiceStub(channel)
    got = await status_of(stub.Get(pb.GetTransactionRequest(id=world.tx_id),
                                   metadata=auth(world, who)))
    rest = await rest_status(world, "GET", f"/api/v1/transactions/{world.tx_id}", who)
    assert got == REST_TO_GRPC[rest], (who, rest, got)
    assert (got is grpc.StatusCode.OK) == (who in ("user", "operator", "admin"))


@pytest.mark.parametrize("who", ["user", "other", "operator"])
async def test_list_transactions_mine_or_all(world: World, channel: grpc.aio.Channel,
                                             who: str) -> None:
    page = await rpc.TransactionServiceStub(channel).List(
        pb.ListTransactionsRequest(page_size=50), metadata=auth(world, who))
    assert (world.tx_id in {t.id for t in page.transactions}) == (who != "other")


@pytest.mark.parametrize(("who", "rest_expected"), [
    (None, 401), ("user", 403), ("operator", 200)])
async def test_send_command_is_for_operators(world: World, channel: grpc.aio.Channel,
                                             who: str | None, rest_expected: int) -> None:
    assert await rest_status(world, "POST", f"/api/v1/devices/{world.station_id}/reset",
                             who, {"type": "OnIdle"}) == rest_expected
    call = rpc.DeviceServiceStub(channel).SendCommand(pb.SendCommandRequest(
        device_id=world.station_id, command="trigger", body_json='{"message": "Heartbeat"}'),
        metadata=auth(world, who))
    if rest_expected != 200:
        assert await status_of(call) == REST_TO_GRPC[rest_expected]
        return
    answer = await call
    assert answer.status == "Accepted" and '"status":"Accepted"' in answer.response_json


async def test_errors_map_to_status_codes(world: World, channel: grpc.aio.Channel) -> None:
    devices = rpc.DeviceServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await devices.GetDevice(pb.GetDeviceRequest(id="NO-SUCH"), metadata=auth(world, "user"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    assert ("sigec-code", "NOT_FOUND") in tuple(missing.value.trailing_metadata() or ())
    bad = devices.SendCommand(pb.SendCommandRequest(device_id=world.station_id,
                                                    command="explode"),
                              metadata=auth(world, "operator"))
    assert await status_of(bad) is grpc.StatusCode.INVALID_ARGUMENT
    ended = rpc.TransactionServiceStub(channel).Stop(
        pb.StopTransactionRequest(id=world.tx_id), metadata=auth(world, "other"))
    assert await status_of(ended) is grpc.StatusCode.NOT_FOUND
    page = await devices.ListDevices(pb.ListDevicesRequest(page_size=10),
                                     metadata=auth(world, "user"))
    mine = [d for d in page.devices if d.id == world.station_id]
    assert mine and mine[0].online and (mine[0].connectors[0].evse_id,
                                        mine[0].connectors[0].connector_id) == (1, 1)


async def test_watch_status_streams_the_stations_status_notification(
        world: World, channel: grpc.aio.Channel) -> None:
    stream = rpc.DeviceServiceStub(channel).WatchStatus(
        pb.WatchStatusRequest(device_id=world.station_id), metadata=auth(world, "user"))
    assert ("sigec-watching", world.station_id) in tuple(await stream.initial_metadata())
    await world.station.status(3, 1, "Available")
    await world.station.status(3, 1, "Faulted")
    events = [await asyncio.wait_for(stream.read(), 10) for _ in range(2)]
    assert [(e.evse_id, e.connector_id, e.status) for e in events] == [
        (3, 1, "Available"), (3, 1, "Faulted")]
    assert events[1].previous == "Available" and events[0].station_id == world.station_id
    stream.cancel()


async def test_watch_needs_a_token(world: World, channel: grpc.aio.Channel) -> None:
    stream = rpc.DeviceServiceStub(channel).WatchStatus(
        pb.WatchStatusRequest(device_id=world.station_id))
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await asyncio.wait_for(stream.read(), 10)
    assert denied.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_health_and_reflection(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "sigec.v1.DeviceService", "sigec.v1.TransactionService",
                    "sigec.v1.V2GService"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
    async for answer in reflect.ServerReflectionInfo(iter([
            reflection_pb2.ServerReflectionRequest(list_services="")])):
        names = {s.name for s in answer.list_services_response.service}
        assert {"sigec.v1.DeviceService", "sigec.v1.TransactionService",
                "sigec.v1.V2GService", "grpc.health.v1.Health"} <= names
        break


async def test_watch_transaction_streams_the_owners_session(world: World,
                                                            channel: grpc.aio.Channel) -> None:
    stream = rpc.TransactionServiceStub(channel).WatchTransaction(
        pb.WatchTransactionRequest(id=world.tx_id), metadata=auth(world, "user"))
    await stream.initial_metadata()  # listening
    await world.station.update_transaction(1, add_wh=400)
    tx = await asyncio.wait_for(stream.read(), 10)
    assert tx.id == world.tx_id and tx.status == "Active" and tx.energy_wh >= 400
    stream.cancel()
    other = rpc.TransactionServiceStub(channel).WatchTransaction(
        pb.WatchTransactionRequest(id=world.tx_id), metadata=auth(world, "other"))
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await asyncio.wait_for(other.read(), 10)
    assert hidden.value.code() is grpc.StatusCode.NOT_FOUND


REST_CODES = {**REST_TO_GRPC, 409: grpc.StatusCode.FAILED_PRECONDITION}


@pytest.mark.parametrize("who", ["user", "other"])
async def test_v2g_start_and_grid_price_answer_like_rest(world: World, channel: grpc.aio.Channel,
                                                         who: str) -> None:
    v2g = rpc.V2GServiceStub(channel)
    body = {"chargePointId": world.station_id, "minSoc": 40}
    rest = await rest_status(world, "POST", "/api/v1/v2g/discharge/start", who, body)
    got = await status_of(v2g.StartDischarge(pb.StartDischargeRequest(
        station_id=world.station_id, min_soc=40), metadata=auth(world, who)))
    assert rest in (403, 409) and got == REST_CODES[rest], (who, rest, got)
    price = await rest_status(world, "GET", "/api/v1/v2g/grid-price?submarket=SE", who)
    got = await status_of(v2g.GetGridPrice(pb.GridPriceRequest(submarket="SE"),
                                           metadata=auth(world, who)))
    assert got == {200: grpc.StatusCode.OK, 404: grpc.StatusCode.NOT_FOUND}[price]
    bad = await status_of(v2g.StartDischarge(pb.StartDischargeRequest(
        station_id=world.station_id, min_soc=101), metadata=auth(world, who)))
    assert bad is grpc.StatusCode.INVALID_ARGUMENT


async def test_start_and_stop_a_session_of_the_callers_own(world: World,
                                                           channel: grpc.aio.Channel) -> None:
    txs = rpc.TransactionServiceStub(channel)
    started = await txs.Start(pb.StartTransactionRequest(station_id=world.station_id, evse_id=2),
                              metadata=auth(world, "user"))
    assert started.accepted and started.status == "Accepted" and started.remote_start_id > 0
    new = None
    for _ in range(100):  # the station starts it and sends TransactionEvent Started
        page = await txs.List(pb.ListTransactionsRequest(status="Active"),
                              metadata=auth(world, "user"))
        new = next((t for t in page.transactions if t.evse_id == 2), None)
        if new is not None:
            break
        await asyncio.sleep(0.05)
    assert new is not None, "the remote start never became the caller's session"
    assert await status_of(txs.Stop(pb.StopTransactionRequest(id=new.id),
                                    metadata=auth(world, "other"))) is grpc.StatusCode.NOT_FOUND
    stopped = await txs.Stop(pb.StopTransactionRequest(id=new.id), metadata=auth(world, "user"))
    assert stopped.accepted and stopped.status == "Accepted"


async def test_a_logout_ends_the_watch_at_its_next_event(world: World,
                                                         channel: grpc.aio.Channel) -> None:
    token = await world.second_token("user")
    stream = rpc.DeviceServiceStub(channel).WatchStatus(
        pb.WatchStatusRequest(device_id=world.station_id),
        metadata=(("authorization", f"Bearer {token}"),))
    await stream.initial_metadata()
    await world.station.status(5, 1, "Available")
    assert (await asyncio.wait_for(stream.read(), 10)).status == "Available"
    await world.logout(token)
    await world.station.status(5, 1, "Unavailable")
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await asyncio.wait_for(stream.read(), 10)
    assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_get_device_and_watching_an_unknown_one(world: World,
                                                      channel: grpc.aio.Channel) -> None:
    devices = rpc.DeviceServiceStub(channel)
    device = await devices.GetDevice(pb.GetDeviceRequest(id=world.station_id),
                                     metadata=auth(world, "user"))
    assert device.id == world.station_id and device.online and device.serial_number
    assert 1 in {c.evse_id for c in device.connectors}
    stream = devices.WatchStatus(pb.WatchStatusRequest(device_id="NO-SUCH"),
                                 metadata=auth(world, "user"))
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await asyncio.wait_for(stream.read(), 10)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
