"""DataTransfer (P01-P02): inbound requests go to the handler registered for their vendorId."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sigec_actors.ocpp.generated import v201 as m

VendorHandler = Callable[[str, m.DataTransferRequest], Awaitable[m.DataTransferResponse]]
"""(station_id, request) -> response for one vendorId."""


class VendorConflict(ValueError):
    """Two packages registered a handler for the same vendorId."""


class DataTransfers:
    """Vendor handlers by vendorId; an unknown vendor is answered UnknownVendorId (P02.FR.03)."""

    def __init__(self) -> None:
        self._vendors: dict[str, VendorHandler] = {}

    def register(self, vendor_id: str, handler: VendorHandler) -> None:
        if vendor_id in self._vendors:
            raise VendorConflict(f"vendorId {vendor_id!r} already has a handler")
        self._vendors[vendor_id] = handler

    def vendors(self) -> frozenset[str]:
        return frozenset(self._vendors)

    async def on_data_transfer(self, station_id: str,
                               req: m.DataTransferRequest) -> m.DataTransferResponse:
        handler = self._vendors.get(req.vendor_id)
        if handler is None:
            return m.DataTransferResponse(status=m.DataTransferStatusEnum.UNKNOWN_VENDOR_ID)
        return await handler(station_id, req)
