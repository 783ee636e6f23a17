"""The seam between the WebSocket gateway and the charge point side: links, sinks, sessions.

The gateway owns sockets: handshake, authentication, TLS, pings, frame limits and the rule of
one live session per identity. The charge point side owns OCPP meaning. They meet here:

    gateway ──attach(link)──► StationSessions ──returns──► SessionSink
    gateway reader loop ──on_frame(data)──► sink   (sequential per connection)
    gateway on socket close ──on_close(code, reason)──► sink
    charge point actor ──link.send(frame)──► gateway socket

`session` numbers grow per accepted connection of an identity, so a late close of a replaced
socket can be recognised and ignored (the ts-ocpp#19 / HA PR #2122 class of bugs).
"""

from __future__ import annotations

from typing import Protocol

from sigec_actors.errors import SigecError


class LinkClosed(SigecError):
    """The station's socket is closed; nothing can be sent on this link any more."""

    def __init__(self, station_id: str, session: int) -> None:
        self.station_id = station_id
        self.session = session
        super().__init__(f"link to {station_id} (session {session}) is closed")


class SessionsUnavailable(SigecError):
    """The charge point side cannot take a station now (on a node whose charge-points
    supervisor is stopped or restarting); the gateway closes the socket "try again later"."""

    def __init__(self, station_id: str, why: str) -> None:
        self.station_id = station_id
        self.why = why
        super().__init__(f"cannot take station {station_id} now: {why}")


class StationLink(Protocol):
    """One authenticated WebSocket connection of one station, as the charge point side sees it."""

    @property
    def station_id(self) -> str:
        """The authenticated identity (percent-decoded)."""
        ...

    @property
    def session(self) -> int:
        """Grows with every accepted connection of this identity on this node."""
        ...

    @property
    def remote(self) -> str:
        """Peer address as `ip:port`, for logs and security events."""
        ...

    @property
    def security_profile(self) -> int:
        """The profile the station authenticated with (0-3)."""
        ...

    @property
    def is_open(self) -> bool:
        """False once the socket is closing or closed."""
        ...

    async def send(self, frame: bytes) -> None:
        """Send one OCPP-J frame as a WebSocket *text* frame; raises LinkClosed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket (idempotent)."""
        ...


class SessionSink(Protocol):
    """Receives what arrives on one link; the gateway calls it sequentially per connection."""

    async def on_frame(self, data: str | bytes) -> None:
        """One inbound WebSocket message (text or binary, unparsed)."""
        ...

    async def on_close(self, code: int | None, reason: str) -> None:
        """The socket closed (for any reason: normal close, error, dead peer, replacement)."""
        ...


class StationSessions(Protocol):
    """The charge point side: binds a freshly authenticated link to the station's actor."""

    async def attach(self, link: StationLink) -> SessionSink:
        """Called once per accepted connection, after the handshake, before any frame."""
        ...
