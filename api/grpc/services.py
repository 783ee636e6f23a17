"""DeviceService, TransactionService and V2GService over the services REST uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any
from uuid import UUID

import msgspec

from api.errors import InvalidInput, NotFound
from api.graphql.context import ConnectorsMany
from api.graphql.inputs import cursor, parse, window
from api.grpc import convert
from api.grpc.calls import Context, Servicer, streaming, unary
from api.grpc.proto import sigec_pb2 as pb
from api.grpc.proto import sigec_pb2_grpc as rpc
from api.live_feed import EventFeed
from api.routes.v2g_prices import PriceQuery, current_price
from api.routing import Principal
from api.schemas.stations import ConnectorOut, DeviceQuery
from api.schemas.transactions import AdminQuery, StartBody
from api.schemas.v2g import DischargeStartBody
from api.services import need, remote
from api.services import transactions as txs
from api.services import v2g as sessions
from sigec_actors.domain.events import (
    OCPP_DEVICE_STATUS,
    TRANSACTION_COMPLETED,
    TRANSACTION_UPDATED,
)
from sigec_actors.domain.records import Role
from sigec_actors.transactions.ports import TxFilter

PAGE = ("page_size", "page_token")


def _next(offset: int, shown: int, total: int) -> str:
    return cursor(offset + shown - 1) if offset + shown < total else ""


class DeviceService(Servicer, rpc.DeviceServiceServicer):
    def __init__(self, *args: Any, feed: EventFeed | None) -> None:
        super().__init__(*args)
        self.feed = feed

    @unary()
    async def GetDevice(self, request: pb.GetDeviceRequest, context: Context,
                        caller: Principal) -> pb.Device:
        return convert.device_detail(await self.services.devices.detail(request.id))

    @unary()
    async def ListDevices(self, request: pb.ListDevicesRequest, context: Context,
                          caller: Principal) -> pb.ListDevicesResponse:
        limit, offset = window(request.page_size or 50, request.page_token, PAGE)
        page = await self.services.devices.page(parse(DeviceQuery, {
            "limit": limit, "offset": offset, "status": request.status or None}))
        ids = [d.id for d in page.items]
        stations = need(self.ctx.stations, "stations")
        found = (await stations.connectors_many(ids) if isinstance(stations, ConnectorsMany)
                 else {i: await stations.connectors(i) for i in ids})
        return pb.ListDevicesResponse(
            devices=[convert.device(d, [ConnectorOut.of(c) for c in found.get(d.id, [])])
                     for d in page.items],
            total=page.total, next_page_token=_next(offset, len(page.items), page.total))

    @unary(Role.OPERATOR)
    async def SendCommand(self, request: pb.SendCommandRequest, context: Context,
                          caller: Principal) -> pb.SendCommandResponse:
        try:
            name = remote.CommandName(request.command)
        except ValueError:
            raise InvalidInput("command", "must be one of " + ", ".join(remote.CommandName),
                               "argument") from None
        answer = await remote.send_named(self.services.commands, request.device_id, name,
                                         (request.body_json or "{}").encode())
        status = answer.get("status")
        return pb.SendCommandResponse(status=status if isinstance(status, str) else "",
                                      response_json=msgspec.json.encode(answer).decode())

    @streaming
    async def WatchStatus(self, request: pb.WatchStatusRequest, context: Context,
                          caller: Principal) -> AsyncIterator[pb.StatusEvent]:
        station_id = request.device_id
        if await need(self.ctx.stations, "stations").get(station_id) is None:
            raise NotFound("station", station_id)
        feed = need(self.feed, "live events")
        async with feed.listen((OCPP_DEVICE_STATUS,),
                               lambda e: e.get("stationId") == station_id) as listener:
            await context.send_initial_metadata((("sigec-watching", station_id),))
            while True:
                e = await listener.next()
                await self.caller(context)  # a logout or an expiry ends the stream
                yield pb.StatusEvent(station_id=station_id, evse_id=int(e["evseId"]),
                                     connector_id=int(e["connectorId"]), status=str(e["status"]),
                                     previous=e.get("previous"),
                                     timestamp=str(e.get("timestamp", "")))


class TransactionService(Servicer, rpc.TransactionServiceServicer):
    def __init__(self, *args: Any, feed: EventFeed | None) -> None:
        super().__init__(*args)
        self.feed = feed

    @unary()
    async def Get(self, request: pb.GetTransactionRequest, context: Context,
                  caller: Principal) -> pb.Transaction:
        return convert.transaction(await txs.one(self.ctx, caller, request.id))

    @unary()
    async def List(self, request: pb.ListTransactionsRequest, context: Context,
                   caller: Principal) -> pb.ListTransactionsResponse:
        limit, offset = window(request.page_size or 50, request.page_token, PAGE)
        q = parse(AdminQuery, {"limit": limit, "offset": offset,
                               "status": request.status or None,
                               "stationId": request.station_id or None})
        where = txs.mine_or_all(caller, TxFilter(station_id=q.station_id, status=q.status))
        page = await txs.page(self.ctx, where, limit, offset)
        return pb.ListTransactionsResponse(
            transactions=[convert.transaction(t) for t in page.items], total=page.total,
            next_page_token=_next(offset, len(page.items), page.total))

    @unary()
    async def Start(self, request: pb.StartTransactionRequest, context: Context,
                    caller: Principal) -> pb.StartTransactionResponse:
        body = parse(StartBody, {"chargePointId": request.station_id,
                                 "evseId": request.evse_id if request.HasField("evse_id")
                                 else None})
        out = await txs.start(self.ctx, caller, body.charge_point_id, body.evse_id)
        return pb.StartTransactionResponse(accepted=out.accepted, status=out.status,
                                           remote_start_id=out.remote_start_id,
                                           station_transaction_id=out.station_transaction_id)

    @unary()
    async def Stop(self, request: pb.StopTransactionRequest, context: Context,
                   caller: Principal) -> pb.StopTransactionResponse:
        out = await txs.stop(self.ctx, caller, request.id)
        return pb.StopTransactionResponse(accepted=out.accepted, status=out.status)

    @streaming
    async def WatchTransaction(self, request: pb.WatchTransactionRequest,
                               context: Context, caller: Principal,
                               ) -> AsyncIterator[pb.Transaction]:
        tx = await txs.visible(self.ctx, caller, request.id)
        feed = need(self.feed, "live events")

        def mine(e: dict[str, Any]) -> bool:
            return (e.get("stationId") == tx.station_id
                    and e.get("transactionId") == tx.station_transaction_id)

        async with feed.listen((TRANSACTION_UPDATED, TRANSACTION_COMPLETED), mine) as listener:
            await context.send_initial_metadata((("sigec-watching", request.id),))
            while True:
                event = await listener.next()
                await self.caller(context)  # a logout or an expiry ends the stream
                yield convert.transaction(await txs.one(self.ctx, caller, request.id))
                if event.get("status") == "Ended":
                    return


class V2GService(Servicer, rpc.V2GServiceServicer):
    @unary()
    async def GetSession(self, request: pb.GetSessionRequest, context: Context,
                         caller: Principal) -> pb.V2GSession:
        return convert.v2g_session(await sessions.visible(self.ctx, caller,
                                                          _uuid(request.id)))

    @unary()
    async def StartDischarge(self, request: pb.StartDischargeRequest,
                             context: Context, caller: Principal) -> pb.V2GSession:
        body = parse(DischargeStartBody, {
            "chargePointId": request.station_id,
            "evseId": request.evse_id if request.HasField("evse_id") else None,
            "minSoc": request.min_soc,
            "maxEnergyWh": request.max_energy_wh if request.HasField("max_energy_wh") else None,
            "until": request.until.ToDatetime(tzinfo=UTC) if request.HasField("until") else None})
        return convert.v2g_session(await sessions.start(self.ctx, caller, body))

    @unary()
    async def StopDischarge(self, request: pb.StopDischargeRequest,
                            context: Context, caller: Principal) -> pb.V2GSession:
        return convert.v2g_session(await sessions.stop(self.ctx, caller,
                                                       _uuid(request.session_id)))

    @unary()
    async def GetGridPrice(self, request: pb.GridPriceRequest, context: Context,
                           caller: Principal) -> pb.GridPrice:
        q = parse(PriceQuery, {"submarket": request.submarket or None,
                               "chargePointId": request.station_id or None})
        return convert.grid_price(await current_price(self.ctx, q))


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("v2g session", raw) from None
