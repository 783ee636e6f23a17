"""Live station sessions: the StationLink over a websocket, and one live session per identity."""

from __future__ import annotations

import itertools

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from sigec_actors.ocpp.link import LinkClosed

NORMAL_CLOSURE = 1000
ABNORMAL_CLOSURE = 1006  # no close frame was exchanged (RFC 6455 §7.1.5)


class WsLink:
    """StationLink over one accepted websockets connection (kept small: one per station)."""

    __slots__ = ("_open", "_ws", "close_code", "close_reason", "remote", "security_profile",
                 "session", "station_id")

    def __init__(self, ws: ServerConnection, station_id: str, session: int, remote: str,
                 security_profile: int) -> None:
        self._ws = ws
        self.station_id = station_id
        self.session = session
        self.remote = remote
        self.security_profile = security_profile
        self._open = True
        # Set when *we* decide to close (replacement, sink failure, close()), so on_close reports
        # our reason even when the peer never answers the close frame.
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def is_open(self) -> bool:
        return self._open and self._ws.protocol.state is State.OPEN

    @property
    def accepting(self) -> bool:
        """False once replaced or closed by us: its inbound frames are no longer delivered."""
        return self._open

    async def send(self, frame: bytes) -> None:
        """Send `frame` as one text frame (OCPP-J uses text only); raise LinkClosed if closed."""
        if not self._open:
            raise LinkClosed(self.station_id, self.session)
        try:
            await self._ws.send(frame, text=True)
        except ConnectionClosed as exc:
            self._open = False
            raise LinkClosed(self.station_id, self.session) from exc

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the socket and wait for the closing handshake (bounded by close_timeout)."""
        self.retire(code, reason)
        await self._ws.close(code, reason)

    def retire(self, code: int, reason: str) -> None:
        """Stop using this link now (no more sends, no more inbound frames); idempotent."""
        self._open = False
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason

    def final_close(self) -> tuple[int, str]:
        """The code and reason to report to the sink once the connection is over."""
        if self.close_code is not None:
            return self.close_code, self.close_reason
        protocol = self._ws.protocol
        frame = protocol.close_rcvd or protocol.close_sent
        if frame is None:
            return ABNORMAL_CLOSURE, ""
        return int(frame.code), frame.reason


class LiveSessions:
    """At most one live link per identity; a late release of a replaced link changes nothing.

    Claims and releases are synchronous (no await between the read and the write), so two
    connections racing for one identity always leave exactly one of them live.
    """

    __slots__ = ("_live", "_numbers")

    def __init__(self) -> None:
        self._live: dict[str, WsLink] = {}
        # One counter for the node: numbers grow per identity too, with no per-identity state.
        self._numbers = itertools.count(1)

    def next_session(self) -> int:
        return next(self._numbers)

    def claim(self, link: WsLink) -> WsLink | None:
        """Make `link` the live session of its identity; return the one it replaces, if any."""
        old = self._live.get(link.station_id)
        self._live[link.station_id] = link
        return old

    def release(self, link: WsLink) -> bool:
        """Forget `link` if (and only if) it is still the live one; True when it was."""
        if self._live.get(link.station_id) is link:
            del self._live[link.station_id]
            return True
        return False

    def get(self, station_id: str) -> WsLink | None:
        return self._live.get(station_id)

    def links(self) -> list[WsLink]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, station_id: object) -> bool:
        return station_id in self._live
