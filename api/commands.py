"""Remote commands: REST bodies become typed OCPP 2.0.1 requests sent through the commander."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import msgspec

from api.errors import NotConfigured, NotFound
from api.ports import StationCommander
from api.schemas import commands as b
from sigec_actors.domain.records import Caller
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import StationRepository

BASIC_AUTH = ("SecurityCtrlr", "BasicAuthPassword")

_CALLER: ContextVar[Caller | None] = ContextVar("sigec_command_caller", default=None)
"""The authenticated caller of the REST request being handled (set by api.routing)."""


class CommandError(SigecError):
    """Base of the errors a StationCommander raises; `station_id` names the station."""

    def __init__(self, station_id: str, message: str) -> None:
        self.station_id = station_id
        super().__init__(message)


class CommandOffline(CommandError):
    """No connection to the station on any node (HTTP 409)."""

    def __init__(self, station_id: str) -> None:
        super().__init__(station_id, f"station {station_id} is not connected")


class CommandTimeout(CommandError):
    """The station did not answer within `timeout_s` (HTTP 504)."""

    def __init__(self, station_id: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(station_id, f"station {station_id} did not answer in {timeout_s:g} s")


class CommandBusy(CommandError):
    """The station's command queue is full (HTTP 503 with Retry-After)."""

    def __init__(self, station_id: str, retry_after_s: int = 5) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(station_id, f"station {station_id} is busy; retry in {retry_after_s} s")


class CommandRejected(CommandError):
    """The station answered with a CALLERROR (HTTP 502); code and description are its own."""

    def __init__(self, station_id: str, code: str, description: str = "") -> None:
        self.code = code
        self.description = description
        super().__init__(station_id, f"station {station_id} answered {code}: {description}")


class CommandNotAllowed(CommandError):
    """The charge point's state refuses the command, e.g. still booting (HTTP 409)."""

    def __init__(self, station_id: str, reason: str) -> None:
        self.reason = reason
        super().__init__(station_id, f"station {station_id} cannot take the command: {reason}")


class CommandWithoutCaller(CommandError):
    """A station command was sent outside an authenticated request (a bug: HTTP 500)."""

    def __init__(self, station_id: str) -> None:
        super().__init__(station_id, f"command to {station_id} has no authenticated caller")


def caller_of(user_id: str, role: str, ip: str | None = None) -> Caller:
    """The caller a request acts for: its access token's subject and role, and the client
    address the request came from (audited with each command)."""
    return Caller("user", user_id, str(role), ip)


@contextmanager
def acting_for(caller: Caller) -> Iterator[None]:
    """Station commands sent inside this block are sent (and audited) for `caller`."""
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def request_ip() -> str | None:
    """The client address of the request being served (None outside `acting_for`)."""
    caller = _CALLER.get()
    return None if caller is None else caller.ip


def request_caller(station_id: str) -> Caller:
    """The caller of the current request; CommandWithoutCaller outside `acting_for`."""
    caller = _CALLER.get()
    if caller is None:
        raise CommandWithoutCaller(station_id)
    return caller


class Commands:
    """Builds each OCPP request from its REST body and sends it to a registered station."""

    def __init__(self, stations: StationRepository, commander: StationCommander | None,
                 request_ids: Callable[[], int]) -> None:
        self._stations = stations
        self._commander = commander
        self._ids = request_ids

    async def known(self, station_id: str) -> None:
        """NotFound (404) unless `station_id` is a registered station."""
        if await self._stations.get(station_id) is None:
            raise NotFound("station", station_id)

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        """Send to a registered station: unknown ids are 404 before anything goes out."""
        await self.known(station_id)
        if self._commander is None:
            raise NotConfigured("station commander")
        return await self._commander.send(station_id, request)

    def remote_start(self, body: b.RemoteStartBody) -> v201.RequestStartTransactionRequest:
        return v201.RequestStartTransactionRequest(
            id_token=v201.IdToken(id_token=body.id_token, type=body.id_token_type),
            remote_start_id=body.remote_start_id or self._ids(), evse_id=body.evse_id,
            charging_profile=body.charging_profile)

    @staticmethod
    def remote_stop(body: b.RemoteStopBody) -> v201.RequestStopTransactionRequest:
        return v201.RequestStopTransactionRequest(transaction_id=body.transaction_id)

    @staticmethod
    def reset(body: b.ResetBody) -> v201.ResetRequest:
        return v201.ResetRequest(type=body.type, evse_id=body.evse_id)

    @staticmethod
    def trigger(message: v201.MessageTriggerEnum,
                body: b.TriggerBody) -> v201.TriggerMessageRequest:
        evse = (None if body.evse_id is None
                else v201.EVSE(id=body.evse_id, connector_id=body.connector_id))
        return v201.TriggerMessageRequest(requested_message=message, evse=evse)

    @staticmethod
    def unlock(connector_id: int, body: b.UnlockBody) -> v201.UnlockConnectorRequest:
        return v201.UnlockConnectorRequest(evse_id=body.evse_id, connector_id=connector_id)

    @staticmethod
    def availability(status: v201.OperationalStatusEnum, evse_id: int | None = None,
                     connector_id: int | None = None) -> v201.ChangeAvailabilityRequest:
        evse = None if evse_id is None else v201.EVSE(id=evse_id, connector_id=connector_id)
        return v201.ChangeAvailabilityRequest(operational_status=status, evse=evse)

    @staticmethod
    def set_profile(body: b.ChargingProfileBody) -> v201.SetChargingProfileRequest:
        return v201.SetChargingProfileRequest(evse_id=body.evse_id,
                                              charging_profile=body.charging_profile)

    @staticmethod
    def clear_profile(query: b.ClearProfileQuery) -> v201.ClearChargingProfileRequest:
        criteria = None
        if (query.evse_id, query.purpose, query.stack_level) != (None, None, None):
            criteria = v201.ClearChargingProfile(
                evse_id=query.evse_id, charging_profile_purpose=query.purpose,
                stack_level=query.stack_level)
        return v201.ClearChargingProfileRequest(
            charging_profile_id=query.charging_profile_id, charging_profile_criteria=criteria)

    @staticmethod
    def basic_auth_password(password: str) -> v201.SetVariablesRequest:
        component, variable = BASIC_AUTH
        return v201.SetVariablesRequest(set_variable_data=(v201.SetVariableData(
            attribute_value=password, component=v201.Component(name=component),
            variable=v201.Variable(name=variable)),))
