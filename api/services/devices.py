"""Device views for apps and operators: records from PostgreSQL merged with live state."""

from __future__ import annotations

from datetime import datetime

from api.commands import CommandOffline, Commands
from api.errors import Conflict, NotFound
from api.ports import LiveStations, LiveStatus
from api.schemas.stations import (
    ConnectorOut,
    DeviceDetailOut,
    DeviceOut,
    DevicePage,
    DeviceQuery,
    DeviceStatusOut,
    FirmwareStatusOut,
    LocationOut,
    NearbyDeviceOut,
    NearbyOut,
    NearbyQuery,
)
from sigec_actors.domain.records import Station
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import StationRepository


class Devices:
    """Read models of charge points; commands go through Commands."""

    def __init__(self, stations: StationRepository, live: LiveStations | None,
                 commands: Commands) -> None:
        self._stations = stations
        self._live = live
        self._commands = commands

    async def page(self, query: DeviceQuery) -> DevicePage:
        online = None if query.status is None else query.status == "online"
        items = await self._stations.page(query.limit, query.offset, online=online)
        return DevicePage(items=[DeviceOut.of(s) for s in items],
                          total=await self._stations.count(online=online),
                          limit=query.limit, offset=query.offset)

    async def detail(self, station_id: str) -> DeviceDetailOut:
        station = await self._get(station_id)
        live = await self._live_status(station_id)
        location = (await self._stations.get_location(station.location_id)
                    if station.location_id else None)
        connectors = {(c.evse_id, c.connector_id): ConnectorOut.of(c)
                      for c in await self._stations.connectors(station_id)}
        for lc in live.connectors if live else ():
            known = connectors.get((lc.evse_id, lc.connector_id))
            connectors[(lc.evse_id, lc.connector_id)] = ConnectorOut(
                evse_id=lc.evse_id, connector_id=lc.connector_id, status=lc.status,
                type=known.type if known else None,
                max_power_w=known.max_power_w if known else None)
        return DeviceDetailOut(
            id=station.id, vendor=station.vendor, model=station.model,
            serial_number=station.serial_number, firmware_version=station.firmware_version,
            admin_status=station.admin_status, online=_online(station, live),
            last_seen=_last_seen(station, live),
            location=LocationOut.of(location) if location else None,
            connectors=[connectors[k] for k in sorted(connectors)])

    async def nearby(self, query: NearbyQuery) -> NearbyOut:
        found = await self._stations.nearby(query.lat, query.lng, query.radius_km, query.limit)
        return NearbyOut(items=[
            NearbyDeviceOut(device=DeviceOut.of(f.station), location=LocationOut.of(f.location),
                            distance_km=round(f.distance_km, 3)) for f in found])

    async def set_status(self, station_id: str,
                         status: v201.OperationalStatusEnum) -> DeviceStatusOut:
        """Make the station Operative or Inoperative: stored, and sent as ChangeAvailability
        (whole station) when it is online. A station that rejects it leaves the stored status
        unchanged (409); an offline one gets the stored status and no answer."""
        await self._get(station_id)
        answer: v201.ChangeAvailabilityResponse | None = None
        try:
            sent = await self._commands.send(station_id, self._commands.availability(status))
            assert isinstance(sent, v201.ChangeAvailabilityResponse), type(sent)
            answer = sent
        except CommandOffline:
            pass  # stored below; the station is told by an operator command once online
        if answer is not None and answer.status.value == "Rejected":
            raise Conflict("station", station_id, f"rejected ChangeAvailability {status.value}")
        await self._stations.set_admin_status(station_id, status.value)
        return DeviceStatusOut(id=station_id, admin_status=status, station_answer=answer)

    async def firmware(self, station_id: str) -> FirmwareStatusOut:
        station = await self._get(station_id)
        live = await self._live_status(station_id)
        return FirmwareStatusOut(station_id=station_id,
                                 firmware_version=station.firmware_version,
                                 online=_online(station, live),
                                 last_report=live.firmware if live else None)

    async def _get(self, station_id: str) -> Station:
        station = await self._stations.get(station_id)
        if station is None:
            raise NotFound("station", station_id)
        return station

    async def _live_status(self, station_id: str) -> LiveStatus | None:
        return None if self._live is None else await self._live.status(station_id)


def _online(station: Station, live: LiveStatus | None) -> bool:
    return live.online if live is not None else station.online


def _last_seen(station: Station, live: LiveStatus | None) -> datetime | None:
    seen = [t for t in (station.last_seen, live.last_seen if live else None) if t is not None]
    return max(seen) if seen else None
