"""Station administration: registration with credentials, listing, password rotation."""

from __future__ import annotations

import structlog

from api.commands import CommandOffline, Commands
from api.errors import Conflict, InvalidInput, NotFound
from api.schemas.stations import (
    CreateStationBody,
    PasswordChangedOut,
    StationCreatedOut,
    StationOut,
    StationPage,
)
from sigec_actors.domain.records import AuditEntry, NewLocation, NewStation
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import AuditLog, StationRepository
from sigec_actors.services.passwords import Passwords, generate_password
from sigec_actors.services.stations import validate_identity

log = structlog.get_logger("api.stations")
PASSWORD_PROFILES = (1, 2)
_APPLIED = (v201.SetVariableStatusEnum.ACCEPTED, v201.SetVariableStatusEnum.REBOOT_REQUIRED)


class StationAdmin:
    """What `sigec station add` does, over HTTP, plus listing and password rotation."""

    def __init__(self, stations: StationRepository, passwords: Passwords, audit: AuditLog,
                 commands: Commands) -> None:
        self._stations = stations
        self._passwords = passwords
        self._audit = audit
        self._commands = commands

    async def register(self, body: CreateStationBody, by: str) -> StationCreatedOut:
        """Store a station (and its location); raises StationExists or InvalidInput."""
        validate_identity(body.id)
        password, generated = self._password_for(body.security_profile, body.password)
        password_hash = await self._passwords.hash(password) if password else None
        location_id = None
        if body.location is not None:
            loc = body.location
            location_id = (await self._stations.add_location(NewLocation(
                loc.name, loc.latitude, loc.longitude, loc.address, loc.city, loc.state,
                loc.postal_code))).id
        station = await self._stations.register(NewStation(
            id=body.id, security_profile=body.security_profile, password_hash=password_hash,
            vendor=body.vendor, model=body.model, location_id=location_id))
        await self._audit.record(AuditEntry("user", "station.register", by, "station",
                                            body.id, {"securityProfile": body.security_profile}))
        return StationCreatedOut(station=StationOut.of(station),
                                 password=password if generated else None)

    async def page(self, limit: int, offset: int) -> StationPage:
        items = await self._stations.page(limit, offset)
        return StationPage(items=[StationOut.of(s) for s in items],
                           total=await self._stations.count(), limit=limit, offset=offset)

    async def set_password(self, station_id: str, password: str | None,
                           by: str) -> PasswordChangedOut:
        """Rotate a station's Basic-auth password (OCPP A09).

        A connected station gets SetVariables BasicAuthPassword first and the new hash is
        stored only once it accepted; an offline station gets the new hash at once (it must
        be configured by hand). A rejected push changes nothing (409).
        """
        station = await self._stations.get(station_id)
        if station is None:
            raise NotFound("station", station_id)
        new, generated = self._password_for(station.security_profile, password)
        if new is None:
            raise Conflict("station", station_id,
                           f"security profile {station.security_profile} uses no password")
        answer = await self._push_password(station_id, new)
        if answer is not None and answer.set_variable_result[0].attribute_status not in _APPLIED:
            raise Conflict("station", station_id, "the station rejected the new password")
        await self._stations.set_credentials(station_id, await self._passwords.hash(new),
                                             station.security_profile)
        await self._audit.record(AuditEntry("user", "station.password", by, "station",
                                            station_id, {"pushed": answer is not None}))
        log.info("station_password_changed", station_id=station_id, by=by,
                 pushed=answer is not None)
        return PasswordChangedOut(station_id=station_id, password=new if generated else None,
                                  pushed=answer is not None, station_answer=answer)

    async def _push_password(self, station_id: str,
                             password: str) -> v201.SetVariablesResponse | None:
        try:
            answer = await self._commands.send(
                station_id, self._commands.basic_auth_password(password))
        except CommandOffline:
            return None
        assert isinstance(answer, v201.SetVariablesResponse), type(answer)
        return answer

    @staticmethod
    def _password_for(profile: int, given: str | None) -> tuple[str | None, bool]:
        """(password, generated): profiles 1 and 2 need one, the others must not have one."""
        if profile not in PASSWORD_PROFILES:
            if given is not None:
                raise InvalidInput("password", f"security profile {profile} uses no password")
            return None, False
        return (given, False) if given is not None else (generate_password(), True)
