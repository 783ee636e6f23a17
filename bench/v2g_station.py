"""A lean bidirectional station for bench.v2g: bench's WebSocket client, V2G meter values."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from bench.load.frames import now_iso
from bench.load.wsclient import WsClient, open_ws

CALL_TIMEOUT_S = 30.0
POWER_W = 7000
ANSWERS: dict[str, dict[str, Any]] = {
    "SetChargingProfile": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Accepted"},
}
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "V2GBench", "vendorName": "SIGEC"}}


class CallFailed(Exception):
    """The CSMS answered a CALL with a CALLERROR, or not at all."""


def meter_value(stamp: str, soc: float, export_wh: float, power_w: float) -> dict[str, Any]:
    """SoC, the export register (Wh) and the export power (W) at `stamp`."""
    return {"timestamp": stamp, "sampledValue": [
        {"value": round(soc, 1), "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
        {"value": round(export_wh, 1), "measurand": "Energy.Active.Export.Register"},
        {"value": power_w, "measurand": "Power.Active.Export"}]}


class V2GStation:
    """One station on one connection: its CALLs (one in flight) and answers to the CSMS's.

    It accepts SetChargingProfile and ClearChargingProfile (counted) and reports, in every
    TransactionEvent Updated, a SoC falling 0.1 % and the export register rising by 10 s at
    7 kW (whatever the real interval), so that both phases send the same bytes.
    """

    def __init__(self, station_id: str, token: str) -> None:
        self.station_id = station_id
        self.token = token
        self.tx_id = f"TX-{station_id}"
        self.ws: WsClient | None = None
        self.seq = 0
        self.soc = 80.0
        self.export_wh = 0.0
        self.profiles_set = 0
        self.profiles_cleared = 0
        self._uid = 0
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}

    # -- Listener (bench.load.wsclient) ----------------------------------------------------

    def on_message(self, message: bytes) -> None:
        frame = msgspec.json.decode(message)
        if frame[0] == 2:
            self._answer(str(frame[1]), str(frame[2]))
            return
        fut = self._pending.pop(str(frame[1]), None)
        if fut is not None and not fut.done():
            fut.set_result(frame)

    def on_close(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(CallFailed("connection closed"))
        self._pending.clear()

    def _answer(self, uid: str, action: str) -> None:
        assert self.ws is not None
        if action == "SetChargingProfile":
            self.profiles_set += 1
        elif action == "ClearChargingProfile":
            self.profiles_cleared += 1
        answer = ANSWERS.get(action)
        frame: list[Any] = [3, uid, answer] if answer is not None else \
            [4, uid, "NotImplemented", f"bench station: no {action}", {}]
        if not self.ws.closed:
            self.ws.send_text(msgspec.json.encode(frame))

    # -- CALLs -----------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> None:
        self.ws = await open_ws(host, port, f"/ocpp/{self.station_id}", "ocpp2.0.1", {})
        self.ws.listen(self)
        reply = await self.call("BootNotification", BOOT)
        if reply.get("status") != "Accepted":
            raise CallFailed(f"{self.station_id}: boot {reply}")

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The CALLRESULT's payload; CallFailed on a CALLERROR, a timeout or a closed socket."""
        assert self.ws is not None
        self._uid += 1
        uid = str(self._uid)
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[uid] = fut
        self.ws.send_text(msgspec.json.encode([2, uid, action, payload]))
        try:
            frame = await asyncio.wait_for(fut, CALL_TIMEOUT_S)
        except TimeoutError as exc:
            self._pending.pop(uid, None)
            raise CallFailed(f"{action}: no answer in {CALL_TIMEOUT_S:.0f} s") from exc
        if frame[0] != 3:
            raise CallFailed(f"{action}: {frame[2:4]}")
        return dict(frame[2])

    async def start_transaction(self) -> None:
        stamp = now_iso()
        reply = await self.call("TransactionEvent", {
            "eventType": "Started", "timestamp": stamp, "triggerReason": "Authorized",
            "seqNo": self._next_seq(), "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": self.token, "type": "ISO14443"},
            "transactionInfo": {"transactionId": self.tx_id, "chargingState": "Charging"},
            "meterValue": [meter_value(stamp, self.soc, self.export_wh, 0)]})
        status = reply.get("idTokenInfo", {}).get("status")
        if status != "Accepted":
            raise CallFailed(f"{self.station_id}: Started answered {reply}")

    async def update(self) -> float:
        """One TransactionEvent Updated with V2G meter values; returns its latency in s."""
        self.soc = max(21.0, self.soc - 0.1)
        self.export_wh += POWER_W * 10 / 3600
        stamp = now_iso()
        payload = {
            "eventType": "Updated", "timestamp": stamp, "triggerReason": "MeterValuePeriodic",
            "seqNo": self._next_seq(),
            "transactionInfo": {"transactionId": self.tx_id, "chargingState": "Charging"},
            "meterValue": [meter_value(stamp, self.soc, self.export_wh, POWER_W)]}
        started = time.perf_counter()
        await self.call("TransactionEvent", payload)
        return time.perf_counter() - started

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq - 1

    def close(self) -> None:
        if self.ws is not None:
            self.ws.abort()
            self.ws = None
