"""A simulated OCPP 2.0.1 charging station on the `ocpp` library client, for tests and bench."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import websockets
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection

from sigec_actors.simulator.blocks import BlocksMode
from sigec_actors.simulator.certificates import CertificateMode
from sigec_actors.simulator.diagnostics import DiagnosticsMode
from sigec_actors.simulator.firmware import FirmwareMode
from sigec_actors.simulator.handlers import CommandHandlers, SimConfig, SimStats
from sigec_actors.simulator.v2g import SimClock, V2GMode

SUBPROTOCOL = "ocpp2.0.1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _open(url: str, station_id: str, password: str | None,
                open_timeout_s: float) -> ClientConnection:
    """Open `<url>/<station id>` with subprotocol ocpp2.0.1 (and Basic auth if given)."""
    headers = None
    if password is not None:
        token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
    return await websockets.connect(
        f"{url.rstrip('/')}/{quote(station_id, safe='')}",
        subprotocols=[websockets.Subprotocol(SUBPROTOCOL)],
        additional_headers=headers, open_timeout=open_timeout_s, compression=None)


class _CountingConnection:
    """What the ocpp library writes through: counts the answers to CSMS CALLs."""

    def __init__(self, ws: ClientConnection, stats: SimStats) -> None:
        self._ws = ws
        self._stats = stats

    async def recv(self) -> str | bytes:
        return await self._ws.recv()

    async def send(self, message: str) -> None:
        if message.startswith(("[3", "[4")):
            message_id = json.loads(message)[1]
            if message_id in self._stats.open_calls:
                self._stats.open_calls.discard(message_id)
                self._stats.in_flight -= 1
                self._stats.answered += 1
        await self._ws.send(message)


@dataclass
class SimTransaction:
    """A transaction the simulator runs on one EVSE."""

    transaction_id: str
    evse_id: int
    connector_id: int
    meter_wh: int
    seq_no: int = 0
    remote_start_id: int | None = None


class SimulatedStation(V2GMode, FirmwareMode, CertificateMode, DiagnosticsMode, BlocksMode,
                       CommandHandlers, ChargePoint):  # type: ignore[misc]
    """Boots, heartbeats, reports status, authorizes and runs transactions; answers commands.

    It reads its socket in its own task and handles each CSMS CALL in a task of its own, so
    `stats.max_in_flight` shows how many CSMS CALLs were ever unanswered at once: it proves
    the CSMS's one-CALL-at-a-time rule instead of hiding a violation behind sequential reads.

    With `config.v2g` set it is bidirectional (see V2GMode): its clock runs `time_scale` times
    faster than the wall clock unless `now` is given.
    """

    def __init__(self, config: SimConfig, ws: ClientConnection,
                 now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.stats = SimStats()
        super().__init__(config.station_id, _CountingConnection(ws, self.stats),
                         response_timeout=30)
        self.ws = ws
        if now is None:
            now = SimClock(config.v2g.time_scale) if config.v2g else _utcnow
        self._now = now
        self._v2g_setup(config.v2g)
        self._firmware_setup(config.firmware)
        self._url: tuple[str, str | None, float] | None = None  # for reconnect()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.transactions: dict[int, SimTransaction] = {}
        self.follow_ups: list[str] = []
        self.costs = []

    @classmethod
    async def connect(cls, url: str, config: SimConfig, *, password: str | None = None,
                      open_timeout_s: float = 10.0) -> SimulatedStation:
        """Open `<url>/<station id>` with subprotocol ocpp2.0.1 (and Basic auth if given)."""
        ws = await _open(url, config.station_id, password, open_timeout_s)
        station = cls(config, ws)
        station._url = (url, password, open_timeout_s)
        station._reader = asyncio.create_task(station._read())
        return station

    async def reconnect(self) -> None:
        """A reboot: close the socket, open a new one (the reader follows it)."""
        assert self._url is not None, "connect() made this station"
        await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.ws = await _open(self._url[0], self.config.station_id, *self._url[1:])
        self._connection._ws = self.ws
        self._reader = asyncio.create_task(self._read())

    async def __aenter__(self) -> SimulatedStation:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the socket and stop every task of this station."""
        await self.ws.close()
        tasks = [*self._tasks, *([self._reader] if self._reader else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def closed(self) -> None:
        """Wait until the CSMS (or the network) closes the socket."""
        await self.ws.wait_closed()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                text = raw.decode() if isinstance(raw, bytes) else raw
                if text.startswith("[2"):
                    self.stats.open_calls.add(json.loads(text)[1])
                    self.stats.in_flight += 1
                    self.stats.max_in_flight = max(self.stats.max_in_flight,
                                                   self.stats.in_flight)
                self._spawn(self.route_message(text))
        except websockets.ConnectionClosed:
            return

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- station -> CSMS ---------------------------------------------------------------------

    async def boot(self, reason: str = "PowerUp") -> Any:
        """BootNotification; returns the library's call_result.BootNotification."""
        return await self.call(call.BootNotification(
            charging_station={"vendor_name": self.config.vendor, "model": self.config.model,
                              "serial_number": self.config.serial_number,
                              "firmware_version": self.config.firmware_version},
            reason=reason), suppress=False)

    async def heartbeat(self) -> Any:
        return await self.call(call.Heartbeat(), suppress=False)

    async def status(self, evse_id: int, connector_id: int, status: str) -> Any:
        return await self.call(call.StatusNotification(
            timestamp=self._now().isoformat(), connector_status=status, evse_id=evse_id,
            connector_id=connector_id), suppress=False)

    async def authorize(self, id_token: str, token_type: str = "ISO14443") -> Any:  # noqa: S107
        return await self.call(call.Authorize(id_token={"id_token": id_token,
                                                        "type": token_type}), suppress=False)

    async def start_transaction(self, id_token: str | None = None, *, evse_id: int = 1,
                                connector_id: int = 1, meter_wh: int = 0,
                                remote_start_id: int | None = None,
                                token_type: str = "ISO14443") -> SimTransaction:  # noqa: S107
        """TransactionEvent Started (seqNo 0) with the start meter value."""
        tx = SimTransaction(str(uuid.uuid4()), evse_id, connector_id, meter_wh,
                            remote_start_id=remote_start_id)
        self.transactions[evse_id] = tx
        self._v2g_started(tx)
        extra: dict[str, Any] = {}
        if id_token is not None:
            extra["id_token"] = {"id_token": id_token, "type": token_type}
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        await self._tx_event(tx, "Started", trigger, **extra)
        return tx

    async def update_transaction(self, evse_id: int = 1, add_wh: int = 500) -> Any:
        """TransactionEvent Updated with a higher energy register."""
        tx = self.transactions[evse_id]
        tx.meter_wh += add_wh
        return await self._tx_event(tx, "Updated", "MeterValuePeriodic")

    async def end_transaction(self, evse_id: int = 1, reason: str = "Local") -> Any:
        """TransactionEvent Ended with the stop meter value."""
        tx = self.transactions.pop(evse_id)
        self._v2g_ended(tx)
        return await self._tx_event(tx, "Ended", "StopAuthorized", stopped_reason=reason)

    async def run_transaction(self, id_token: str, *, evse_id: int = 1, updates: int = 2,
                              step_wh: int = 500) -> SimTransaction:
        """Started, `updates` x Updated with meter values, Ended: seqNo 0..updates+1."""
        tx = await self.start_transaction(id_token, evse_id=evse_id)
        for _ in range(updates):
            await self.update_transaction(evse_id, step_wh)
        await self.end_transaction(evse_id)
        return tx

    async def _tx_event(self, tx: SimTransaction, event_type: str, trigger: str, *,
                        stopped_reason: str | None = None, **extra: Any) -> Any:
        now = self._now().isoformat()
        info: dict[str, Any] = {"transaction_id": tx.transaction_id}
        if tx.remote_start_id is not None:
            info["remote_start_id"] = tx.remote_start_id
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(
            event_type, "Sample.Periodic")
        meter = [{"timestamp": now, "sampled_value": self._sampled(tx, context)}]
        seq_no = tx.seq_no
        tx.seq_no += 1
        return await self.call(call.TransactionEvent(
            event_type=event_type, timestamp=now, trigger_reason=trigger, seq_no=seq_no,
            transaction_info=info, evse={"id": tx.evse_id, "connector_id": tx.connector_id},
            meter_value=meter, **extra), suppress=False)

    # -- follow-ups of accepted commands ---------------------------------------------------------

    def _ongoing(self, transaction_id: str) -> bool:
        return any(tx.transaction_id == transaction_id for tx in self.transactions.values())

    def _after(self, action: str, **kwargs: Any) -> None:
        self.follow_ups.append(action)
        self._spawn(self._follow_up(action, kwargs))

    async def _follow_up(self, action: str, kw: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # let the CALLRESULT go out first
        match action:
            case "RequestStartTransaction":
                token = kw["id_token"]  # the CSMS's token, with its own type (e.g. Central)
                await self.start_transaction(token["id_token"], evse_id=kw.get("evse_id") or 1,
                                             remote_start_id=kw["remote_start_id"],
                                             token_type=token["type"])
            case "RequestStopTransaction":
                for evse_id, tx in list(self.transactions.items()):
                    if tx.transaction_id == kw["transaction_id"]:
                        await self.end_transaction(evse_id, reason="Remote")
            case "TriggerMessage":
                await self._triggered(kw["requested_message"])
            case "GetBaseReport":
                await self._report(kw["request_id"])
            case "UpdateFirmware":
                await self._firmware_update(kw["request_id"], kw["firmware"])

    async def _triggered(self, message: str) -> None:
        if message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            await self.status(1, 1, "Available")
        elif message == "BootNotification":
            await self.boot("Triggered")
        elif message == "SignChargingStationCertificate":
            await self.sign_certificate()  # simulator.certificates

    async def _report(self, request_id: int) -> call_result.NotifyReport:
        data = []
        for key, value in self.config.variables.items():
            component, variable = key.split("/", 1)
            data.append({"component": {"name": component}, "variable": {"name": variable},
                         "variable_attribute": [{"type": "Actual", "value": value}]})
        return await self.call(call.NotifyReport(
            request_id=request_id, generated_at=self._now().isoformat(), seq_no=0,
            report_data=data), suppress=False)
