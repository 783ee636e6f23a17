"""The OCPP WebSocket gateway: handshake, one live session per identity, reader loop, shutdown."""

from __future__ import annotations

import asyncio
import http
import ssl
from collections.abc import Callable
from typing import cast

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_www_authenticate_basic
from websockets.http11 import Request, Response

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.alerts.model import NewAlert
from sigec_actors.alerts.ports import Alerts
from sigec_actors.alerts.rules import new_ip_alert, remote_ip
from sigec_actors.config import Settings
from sigec_actors.errors import SigecError
from sigec_actors.http_guard import ConnectionGuard, client_key, peer_host
from sigec_actors.ocpp.admission import Admission
from sigec_actors.ocpp.gc_tuning import tune_for_connections
from sigec_actors.ocpp.handshake import (
    OCPP201,
    Admitted,
    Handshake,
    HandshakeRefused,
    select_subprotocol,
)
from sigec_actors.ocpp.link import SessionSink, SessionsUnavailable, StationSessions
from sigec_actors.ocpp.sessions import LiveSessions, WsLink
from sigec_actors.ocpp.tls import server_context
from sigec_actors.ports import Cache, StationRepository
from sigec_actors.services.passwords import Passwords

log = structlog.get_logger("ocpp.gateway")

INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
UNAVAILABLE_RETRY_AFTER_S = 30  # Retry-After of a 503 while stations cannot be taken
REPLACED = (1000, "replaced by a new connection")
ALERT_TIMEOUT_S = 5.0
_ALERT_FAILURES: tuple[type[BaseException], ...] = (*DB_FAILURES, SigecError)
_QUIET = (http.HTTPStatus.TOO_MANY_REQUESTS, http.HTTPStatus.SERVICE_UNAVAILABLE)


class _Connection(ServerConnection):
    """A websockets connection that carries the handshake's verdict to the session handler;
    with a `guard` (see `_guarded`), one over the per-address limit is dropped at once."""

    admitted: Admitted | None = None
    guard: ConnectionGuard | None = None
    _guard_key: str | None = None
    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.guard is not None:
            key = client_key(peer_host(transport))
            if not self.guard.admit(key):
                log.debug("ocpp_connection_refused", client=key)
                self._refused = True
                cast(asyncio.Transport, transport).abort()
                return
            self._guard_key = key
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.guard is not None and self._guard_key is not None:
            self.guard.release(self._guard_key)
            self._guard_key = None
        if not self._refused:  # a refused one never started: nothing to tear down
            super().connection_lost(exc)


def _guarded(max_per_ip: int) -> type[_Connection]:
    """The connection class of one gateway: its own per-address count (0 = no limit)."""
    if not max_per_ip:
        return _Connection

    class Guarded(_Connection):
        guard = ConnectionGuard(max_per_ip=max_per_ip)

    return Guarded


class OcppGateway:
    """Accepts stations on `/ocpp/{stationId}` and hands each authenticated socket to `sessions`.

    One instance per node. `start` may be called twice: once for ws:// and once with
    `tls=True` for wss:// (profiles 2 and 3). Every listener uses SO_REUSEPORT so the
    node processes of one host share the port.
    """

    def __init__(self, settings: Settings, stations: StationRepository, passwords: Passwords,
                 cache: Cache, sessions: StationSessions, *, digest_key: bytes | None = None,
                 close_timeout_s: float | None = None, open_timeout_s: float = 10.0,
                 tune_gc: bool = True, alerts: Alerts | None = None,
                 ready: Callable[[], bool] | None = None) -> None:
        """`digest_key`: a secret shared by the nodes so they share verified-credential entries
        in the cache (default: random per process). `close_timeout_s`: how long a closing
        handshake may take before the socket is dropped (default: min(ping_timeout_s, 5)).
        `tune_gc`: on the first `start`, set the process's garbage collector for many
        connections (see ocpp.gc_tuning). `alerts`: where a profile-2/3 session replaced from
        another address raises an alert (S4); None only logs it. `ready`: False while the
        node cannot take stations (its charge-points supervisor is stopped): the upgrade is
        refused with 503 and Retry-After instead."""
        self._settings = settings
        self._ready = ready
        self._sessions = sessions
        self._alerts = alerts
        admission = Admission(cache, passwords, concurrency=settings.auth.hash_concurrency,
                              digest_key=digest_key)
        self._handshake = Handshake(stations, admission,
                                    auto_register=settings.ocpp.auto_register)
        self._live = LiveSessions()
        self._servers: list[Server] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._close_timeout = (close_timeout_s if close_timeout_s is not None
                               else min(settings.ocpp.ping_timeout_s, 5.0))
        self._open_timeout = open_timeout_s
        self._tune_gc = tune_gc
        self._connection = _guarded(settings.server.ocpp_max_connections_per_ip)

    @property
    def live_count(self) -> int:
        """Stations with a live session on this node."""
        return len(self._live)

    def is_connected(self, station_id: str) -> bool:
        return station_id in self._live

    async def start(self, host: str, port: int, *, tls: bool = False) -> int:
        """Listen on `host:port` (ws://, or wss:// with `tls`); return the bound port.

        Raises TlsConfigError when `tls` is asked for without usable `ocpp.tls_*` files.
        """
        ocpp = self._settings.ocpp
        if self._tune_gc and tune_for_connections():
            log.info("gc_tuned_for_connections")
        context = server_context(ocpp.tls_cert, ocpp.tls_key, ocpp.tls_client_ca) if tls else None
        server = await serve(
            self._handle, host, port,
            create_connection=self._connection,
            process_request=self._process_request,
            subprotocols=[OCPP201],
            select_subprotocol=select_subprotocol,
            compression="deflate" if ocpp.compression else None,
            max_size=ocpp.max_frame_bytes,
            ping_interval=ocpp.ping_interval_s,
            ping_timeout=ocpp.ping_timeout_s,
            close_timeout=self._close_timeout,
            open_timeout=self._open_timeout,
            server_header=None,  # do not advertise library versions
            ssl=context,
            reuse_port=True,
        )
        self._servers.append(server)
        bound = int(next(iter(server.sockets)).getsockname()[1])
        log.info("ocpp_listening", host=host, port=bound, tls=tls)
        return bound

    async def stop(self) -> None:
        """Stop accepting, close every session with 1001 "going away", wait (bounded)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close(close_connections=True)
        deadline = self._settings.server.shutdown_timeout_s
        try:
            async with asyncio.timeout(deadline):
                for server in servers:
                    await server.wait_closed()
                if self._closers:
                    await asyncio.wait(self._closers)
        except TimeoutError:
            # Peers that do not finish the closing handshake in time are dropped; the reader
            # loops then end and every sink still gets its on_close.
            log.warning("ocpp_stop_timeout", left=sum(len(s.all_connections) for s in servers))
            await _abort_all(servers, self._close_timeout + 1.0)
        log.info("ocpp_stopped")

    async def disconnect(self, station_id: str, code: int = 1000, reason: str = "") -> bool:
        """Close the live session of `station_id` (operator action, credentials changed);
        False when it has none on this node."""
        link = self._live.get(station_id)
        if link is None:
            return False
        await link.close(code, reason)
        return True

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """websockets hook, before the 101: refuse with an HTTP status or admit."""
        assert isinstance(ws, _Connection)
        ip, remote = _peer(ws)
        tls: ssl.SSLObject | None = ws.transport.get_extra_info("ssl_object")
        try:
            if self._ready is not None and not self._ready():  # before any password check
                raise HandshakeRefused(http.HTTPStatus.SERVICE_UNAVAILABLE,
                                       "station handling is stopped on this node",
                                       retry_after_s=UNAVAILABLE_RETRY_AFTER_S)
            ws.admitted = await self._handshake.admit(request.path, request.headers, ip, tls)
        except HandshakeRefused as refused:
            # 429s come in floods during an attack, 503s from every station while station
            # handling is stopped: keep them out of the default log level.
            emit = log.debug if refused.status in _QUIET else log.info
            emit("ocpp_handshake_refused", station_id=refused.identity, remote=remote,
                 status=refused.status, reason=refused.reason)
            return _refusal(ws, refused)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        """One accepted session: claim the identity, attach, read frames, report the close."""
        assert isinstance(ws, _Connection)
        assert ws.admitted is not None  # _handle only runs after _process_request admitted
        admitted, ws.admitted = ws.admitted, None
        link = WsLink(ws, admitted.station_id, self._live.next_session(), _peer(ws)[1],
                      admitted.security_profile)
        self._replace(self._live.claim(link), link)
        sink: SessionSink | None = None
        try:
            sink = await self._sessions.attach(link)
            await _pump(ws, link, sink)
        except ConnectionClosed:
            pass  # the socket closed: the normal end of a session
        except SessionsUnavailable as exc:  # stopped between the handshake and the attach
            log.warning("ocpp_sessions_unavailable", station_id=link.station_id,
                        session=link.session, why=exc.why)
            link.retire(TRY_AGAIN_LATER, "try again later")
            await ws.close(TRY_AGAIN_LATER, "try again later")
        except Exception:
            # The one boundary that protects the gateway from a bug on the charge point side
            # (attach / on_frame): log it with its traceback and close only this connection.
            log.exception("ocpp_sink_failed", station_id=link.station_id, session=link.session)
            link.retire(INTERNAL_ERROR, "internal error")
            await ws.close(INTERNAL_ERROR, "internal error")
        finally:
            # Only removes the entry if it is still this link: a replaced socket's late
            # cleanup can never touch its successor (ts-ocpp#19, HA PR #2122).
            self._live.release(link)
            if sink is not None:
                await _notify_closed(link, sink)

    def _replace(self, old: WsLink | None, new: WsLink) -> None:
        """Retire the previous session of the identity at once; close its socket in the background.

        The close runs in its own task so a dead old peer (no close frame back) cannot delay
        the new session by close_timeout; so does the S4 alert for a TLS-profile station
        replaced from another address, which never holds up or fails the new session.
        """
        if old is None:
            return
        same_ip = remote_ip(old.remote) == remote_ip(new.remote)
        emit = log.info if same_ip else log.warning  # S4: a new address may be a hijack
        emit("ocpp_session_replaced", station_id=new.station_id, old_session=old.session,
             new_session=new.session, old_remote=old.remote, new_remote=new.remote)
        old.retire(*REPLACED)
        tasks = [asyncio.create_task(old.close(*REPLACED))]
        alert = new_ip_alert(new.station_id, new.security_profile, old.remote, new.remote)
        if alert is not None and self._alerts is not None:
            tasks.append(asyncio.create_task(self._open_alert(self._alerts, alert)))
        for task in tasks:  # stop() waits for them (bounded)
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)

    async def _open_alert(self, alerts: Alerts, alert: NewAlert) -> None:
        """Best effort: the new session is already live; a failure is logged."""
        try:
            async with asyncio.timeout(ALERT_TIMEOUT_S):
                await alerts.open(alert)
        except _ALERT_FAILURES as exc:
            log.error("ocpp_alert_failed", station_id=alert.charge_point_id, kind=alert.kind,
                      error=repr(exc))


async def _abort_all(servers: list[Server], within: float) -> None:
    """Drop every remaining socket; the reader loops then end and report on_close."""
    for server in servers:
        for connection in list(server.all_connections):
            connection.transport.abort()
    try:
        async with asyncio.timeout(within):
            for server in servers:
                await server.wait_closed()
    except TimeoutError:
        # Only a sink whose on_close never returns can get here; do not hang the node's stop.
        log.error("ocpp_stop_abandoned_handlers")


async def _pump(ws: ServerConnection, link: WsLink, sink: SessionSink) -> None:
    """Deliver frames in order until the socket closes or the link is retired (replaced)."""
    recv, on_frame = ws.recv, sink.on_frame
    while True:
        message = await recv()
        if not link.accepting:  # checked after the wait: a replacement may happen during it
            return
        await on_frame(message)


async def _notify_closed(link: WsLink, sink: SessionSink) -> None:
    code, reason = link.final_close()
    try:
        await sink.on_close(code, reason)
    except Exception:
        # Same sink boundary as in OcppGateway._handle: an on_close bug must not escape into
        # websockets' connection handler.
        log.exception("ocpp_sink_on_close_failed", station_id=link.station_id,
                      session=link.session)


def _peer(ws: ServerConnection) -> tuple[str, str]:
    """(ip, "ip:port") of the peer; IPv6 addresses are bracketed in the second form."""
    address = ws.remote_address
    host, port = str(address[0]), int(address[1])
    return host, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def _refusal(ws: ServerConnection, refused: HandshakeRefused) -> Response:
    status = http.HTTPStatus(refused.status)
    response = ws.respond(status, f"{status.phrase}\n")
    headers: Headers = response.headers
    if status == http.HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = build_www_authenticate_basic("ocpp")
    if refused.retry_after_s is not None:
        headers["Retry-After"] = str(refused.retry_after_s)
    return response
