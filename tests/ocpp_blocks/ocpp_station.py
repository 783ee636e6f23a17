"""A station built on the `ocpp` package's v201 ChargePoint (not our simulator): it answers the
CSMS commands the OCPP-block tests send and records what it received."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class ClearCacheWithExtra(call_result.ClearCache):
    """ClearCache answered with a property the schema does not define (a vendor's habit)."""

    vendor_note: str = "cache flushed by ACME firmware 1.2"


class OcppStation(ChargePoint):
    """Answers local-list, display, data transfer, network profile, ClearCache and Reset."""

    def __init__(self, station_id: str, ws: Any) -> None:
        super().__init__(station_id, ws, response_timeout=10)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.list_version = 0
        self.shown: dict[int, dict[str, Any]] = {}

    def _got(self, action: str, **payload: Any) -> None:
        self.received.append((action, payload))

    @on(Action.send_local_list)  # type: ignore[misc]
    async def on_send_local_list(self, version_number: int, update_type: str,
                                 **kw: Any) -> Any:
        self._got("SendLocalList", version_number=version_number, update_type=update_type, **kw)
        self.list_version = version_number
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)  # type: ignore[misc]
    async def on_get_local_list_version(self, **kw: Any) -> Any:
        return call_result.GetLocalListVersion(version_number=self.list_version)

    @on(Action.clear_cache, skip_schema_validation=True)  # type: ignore[misc]
    async def on_clear_cache(self, **kw: Any) -> Any:
        self._got("ClearCache")
        return ClearCacheWithExtra(status="Accepted")

    @on(Action.set_display_message)  # type: ignore[misc]
    async def on_set_display_message(self, message: dict[str, Any], **kw: Any) -> Any:
        self.shown[message["id"]] = message
        return call_result.SetDisplayMessage(status="Accepted")

    @on(Action.get_display_messages)  # type: ignore[misc]
    async def on_get_display_messages(self, request_id: int, **kw: Any) -> Any:
        return call_result.GetDisplayMessages(status="Accepted" if self.shown else "Unknown")

    @after(Action.get_display_messages)  # type: ignore[misc]
    async def report_display_messages(self, request_id: int, **kw: Any) -> None:
        if self.shown:  # O04: the report follows the answer
            asyncio.get_running_loop().create_task(self.call(call.NotifyDisplayMessages(
                request_id=request_id, message_info=list(self.shown.values()))))

    @on(Action.clear_display_message)  # type: ignore[misc]
    async def on_clear_display_message(self, id: int, **kw: Any) -> Any:
        found = self.shown.pop(id, None)
        return call_result.ClearDisplayMessage(status="Accepted" if found else "Unknown")

    @on(Action.data_transfer)  # type: ignore[misc]
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        self._got("DataTransfer", vendor_id=vendor_id, **kw)
        return call_result.DataTransfer(status="Accepted", data={"echo": kw.get("data")})

    @on(Action.set_network_profile)  # type: ignore[misc]
    async def on_set_network_profile(self, configuration_slot: int, connection_data: Any,
                                     **kw: Any) -> Any:
        self._got("SetNetworkProfile", configuration_slot=configuration_slot,
                  connection_data=connection_data)
        return call_result.SetNetworkProfile(status="Accepted")

    @on(Action.reset)  # type: ignore[misc]
    async def on_reset(self, type: str, **kw: Any) -> Any:
        self._got("Reset", type=type)
        return call_result.Reset(status="Scheduled")


async def connect(url: str, station_id: str, password: str) -> tuple[OcppStation, asyncio.Task[Any]]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    ws = await websockets.connect(f"{url.rstrip('/')}/{station_id}",
                                  subprotocols=[websockets.Subprotocol("ocpp2.0.1")],
                                  additional_headers={"Authorization": f"Basic {token}"},
                                  compression=None)
    station = OcppStation(station_id, ws)
    return station, asyncio.get_running_loop().create_task(station.start())


def csr(station_id: str) -> str:
    """A real PEM CSR for the station's ChargingStationCertificate (A02)."""
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, station_id),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SIGEC E2E")])).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()
