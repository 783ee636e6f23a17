"""A minimal CSMS the way the `ocpp` library's examples build one: ChargePoint with @on handlers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint as Cp
from ocpp.v201 import call_result
from ocpp.v201.datatypes import IdTokenInfoType
from ocpp.v201.enums import Action, AuthorizationStatusEnumType, RegistrationStatusEnumType
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.peers.common import main


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ChargePoint(Cp):
    """Handlers as in the library's central_system example, plus the actions the bench sends."""

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station: dict[str, Any], reason: str,
                             **kwargs: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatusEnumType.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status_notification(self, **kwargs: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> call_result.Authorize:
        return call_result.Authorize(
            id_token_info=IdTokenInfoType(status=AuthorizationStatusEnumType.accepted))

    @on(Action.transaction_event)
    def on_transaction_event(self, **kwargs: Any) -> call_result.TransactionEvent:
        return call_result.TransactionEvent()

    @on(Action.meter_values)
    def on_meter_values(self, **kwargs: Any) -> call_result.MeterValues:
        return call_result.MeterValues()


async def on_connect(websocket: ServerConnection) -> None:
    """As in the example: insist on a negotiated subprotocol, id from the path, then start."""
    if websocket.subprotocol is None:
        await websocket.close()
        return
    charge_point_id = websocket.request.path.strip("/").rsplit("/", 1)[-1]  # type: ignore[union-attr]
    charge_point = ChargePoint(charge_point_id, websocket)
    try:
        await charge_point.start()
    except ConnectionClosed:
        return


if __name__ == "__main__":
    # Library defaults otherwise (pings on); the example's INFO logging is off (see README).
    main(on_connect, "Minimal ocpp-library CSMS (ocpp.v201.ChargePoint with @on handlers)",
         compression=None)
