"""Station-message handlers registered by feature packages (firmware, device model, smart
charging, certificates, ...), so a new OCPP block never edits the ChargePoint actor.

A *handler* answers one station -> CSMS request type the pure core does not answer itself
(the core emits `HandleOther` for it): it stores what it must and returns the response
Struct. No handler registered: the station gets CALLERROR NotSupported, as before.

A *watcher* is told of a request after the core answered it (e.g. a BootNotification with
reason FirmwareUpdate for the firmware job, MeterValues for a site's load): it must not block
(a tell, or a task), and it cannot change the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

Req = TypeVar("Req", bound=msgspec.Struct)
Handler = Callable[[str, Any], Awaitable[msgspec.Struct]]
"""(station_id, request) -> response; raise a STORAGE_FAILURES error for "retry later" or an
ocpp.errors.PayloadError to refuse the request with that CALLERROR code."""
Watcher = Callable[[str, Any], None]
"""(station_id, request), after the station was answered; must not block."""


class HandlerConflict(ValueError):
    """Two packages registered a handler for the same request type."""


class StationHandlers:
    """The node's registry, built at wiring time and read by every ChargePoint actor."""

    __slots__ = ("_handlers", "_time_limits", "_watchers")

    def __init__(self) -> None:
        self._handlers: dict[type[msgspec.Struct], Handler] = {}
        self._time_limits: dict[type[msgspec.Struct], float] = {}
        self._watchers: dict[type[msgspec.Struct], tuple[Watcher, ...]] = {}

    def handle(self, request_type: type[Req],
               handler: Callable[[str, Req], Awaitable[msgspec.Struct]], *,
               time_limit_s: float | None = None) -> None:
        """Answer `request_type` with `handler` (one handler per type). `time_limit_s`: its own
        deadline instead of the node's storage deadline, for a handler that waits on something
        slower than a database write (a certificate provider, a codec)."""
        if request_type in self._handlers:
            raise HandlerConflict(f"{request_type.__name__} already has a handler")
        self._handlers[request_type] = handler
        if time_limit_s is not None:
            self._time_limits[request_type] = time_limit_s

    def time_limit_for(self, request_type: type[msgspec.Struct]) -> float | None:
        """The handler's own deadline, if it was registered with one."""
        return self._time_limits.get(request_type)

    def watch(self, request_type: type[Req], watcher: Callable[[str, Req], None]) -> None:
        """Also tell `watcher` of every answered `request_type` (any number of watchers)."""
        self._watchers[request_type] = (*self._watchers.get(request_type, ()), watcher)

    def handler_for(self, request_type: type[msgspec.Struct]) -> Handler | None:
        return self._handlers.get(request_type)

    def watchers_for(self, request_type: type[msgspec.Struct]) -> tuple[Watcher, ...]:
        return self._watchers.get(request_type, ())

    def handled(self) -> frozenset[str]:
        """Action names with a handler (for docs and the console)."""
        return frozenset(t.__name__.removesuffix("Request") for t in self._handlers)
