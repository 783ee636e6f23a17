"""Typed errors of the CSMS -> station command channel; each carries the data that explains it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigec_actors.errors import SigecError


class CommandError(SigecError):
    """Base of every reason a command to a station did not get a response."""

    def __init__(self, station_id: str, action: str, message: str) -> None:
        self.station_id = station_id
        self.action = action
        super().__init__(message)


class StationOffline(CommandError):
    """No live session for the station (or it closed before the answer arrived): REST 409."""

    def __init__(self, station_id: str, action: str) -> None:
        super().__init__(station_id, action, f"station {station_id} is offline ({action})")


class CommandTimeout(CommandError):
    """The station did not answer within `timeout_s`; the slot was freed: REST 504."""

    def __init__(self, station_id: str, action: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(station_id, action,
                         f"{action} to {station_id} got no answer within {timeout_s:g} s")


class StationBusy(CommandError):
    """The station's command queue is full (`queue_size` waiting): REST 429/503."""

    def __init__(self, station_id: str, action: str, queue_size: int) -> None:
        self.queue_size = queue_size
        super().__init__(station_id, action,
                         f"{action} refused: {queue_size} commands already wait for {station_id}")


class CommandRejectedByState(CommandError):
    """The station's registration state forbids this CSMS CALL (e.g. Reset while Pending)."""

    def __init__(self, station_id: str, action: str, boot_status: str) -> None:
        self.boot_status = boot_status
        super().__init__(station_id, action,
                         f"{action} not allowed while {station_id} is {boot_status}")


class StationCallError(CommandError):
    """The station answered with a CALLERROR (code, description and details as sent)."""

    def __init__(self, station_id: str, action: str, code: str, description: str,
                 details: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.description = description
        self.details = dict(details or {})
        super().__init__(station_id, action,
                         f"{station_id} answered {action} with {code}: {description}")


class InvalidResponse(StationCallError):
    """The station's CALLRESULT does not conform to the action's response schema."""


class PersistTimeout(SigecError):
    """A storage call did not finish within `timeout_s` (answered with InternalError)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"storage did not answer within {timeout_s:g} s")
