"""Station -> node routing: NATS subject interest is the registry; commands go by request/reply.

Design: the node that holds a station's connection subscribes to `sigec.cp.<station>.cmd`
(`attach`) and unsubscribes when the connection ends (`detach`). The NATS server's interest
graph *is* the registry: there is no table to keep in sync, and when a node dies its connection
closes and the server drops all its subscriptions, so a dead node never answers for a station.
A station that reconnects to another node is attached there; before subscribing, that node
publishes a `Takeover` on the same subject so a previous holder that has not yet noticed the old
socket is gone lets it go at once. A command for a station with no holder fails fast with
NoResponders -> StationOffline. Requests to one station through one holder are handled in
order (one NATS subscription), matching OCPP's one outstanding CALL per connection.

Every command names its `Caller` (the REST user, or a node job); the holder refuses a command
without one and hands the caller to its LocalCommander, which audits it. Who may publish on
these subjects at all is NATS's business: the server must require credentials (README).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
import structlog

from sigec_actors.charge_point.errors import CommandError, CommandTimeout, StationOffline
from sigec_actors.cluster import wire
from sigec_actors.domain.errors import BusTimeout, NoResponders
from sigec_actors.domain.records import Caller
from sigec_actors.ports import BusMessage, EventBus, Subscription
from sigec_actors.runtime import ActorDead

log = structlog.get_logger("cluster.routing")

DEFAULT_PREFIX = "sigec"
REPLY_MARGIN_S = 1.0
"""Extra wait for a remote answer, so the holder's own CommandTimeout arrives before ours."""

_PLAIN_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class LocalCommander(Protocol):
    """This node's command API (the ChargePoint actors): `charge_point.commands.send_command`."""

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        """Send for `caller` (asked on node `origin`); raises the charge point's CommandError
        subclasses (or ActorDead)."""
        ...


TakeoverHook = Callable[[str, str], Awaitable[None]]
"""Called as `hook(station_id, new_node)` when another node took a station this node held."""


def station_token(station_id: str) -> str:
    """One NATS subject token per station id, injective: ids with `.`, `*`, `>`, spaces ... are
    hex-encoded behind `~` (a character plain ids never contain here)."""
    if _PLAIN_TOKEN.match(station_id):
        return station_id
    return "~" + station_id.encode().hex()


def command_subject(station_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The subject the holder of `station_id` answers on: `<prefix>.cp.<station>.cmd`."""
    return f"{prefix}.cp.{station_token(station_id)}.cmd"


async def _no_flush() -> None:
    return None


async def ignore_takeover(station_id: str, node: str) -> None:
    return None


class StationRouter:
    """One per node: registers the stations this node holds and serves their commands."""

    def __init__(self, bus: EventBus, node: str, local: LocalCommander, *,
                 prefix: str = DEFAULT_PREFIX, default_timeout_s: float = 30.0,
                 flush: Callable[[], Awaitable[None]] = _no_flush,
                 on_takeover: TakeoverHook = ignore_takeover) -> None:
        """`flush` makes a new subscription known to the server before `attach` returns
        (`nats.Client.flush`); `default_timeout_s` is `ocpp.call_timeout_s`."""
        self.bus = bus
        self.node = node
        self.local = local
        self.prefix = prefix
        self.default_timeout_s = default_timeout_s
        self._flush = flush
        self._on_takeover = on_takeover
        self._held: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.commander = RoutedCommander(self)

    def holds(self, station_id: str) -> bool:
        return station_id in self._held

    @property
    def stations(self) -> list[str]:
        return sorted(self._held)

    async def attach(self, station_id: str) -> None:
        """This node now holds `station_id` (its connection was accepted here)."""
        if station_id in self._held:
            return
        subject = command_subject(station_id, self.prefix)
        await self.bus.publish(subject, wire.encode(wire.Takeover(self.node)))

        async def serve(msg: BusMessage) -> bytes | None:
            return await self._serve(station_id, msg)

        self._held[station_id] = await self.bus.subscribe(subject, serve)
        await self._flush()
        log.debug("station_attached", station=station_id, node=self.node)

    async def detach(self, station_id: str) -> None:
        """The station's connection on this node ended (or another node took it)."""
        sub = self._held.pop(station_id, None)
        if sub is not None:
            await sub.unsubscribe()
            await self._flush()  # so a request sent right after gets NoResponders, not silence
            log.debug("station_detached", station=station_id, node=self.node)

    async def close(self) -> None:
        """Let every station go (node stopping); their next connection attaches elsewhere."""
        for station_id in list(self._held):
            await self.detach(station_id)
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("takeover_failed", error=repr(result))

    async def _serve(self, station_id: str, msg: BusMessage) -> bytes | None:
        try:
            inbound = wire.decode_inbound(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("routing_bad_message", station=station_id, error=str(exc))
            return None
        match inbound:
            case wire.Takeover(node=node):
                if node != self.node and station_id in self._held:
                    # Not inline: unsubscribing cancels the task running this very callback.
                    task = asyncio.create_task(self._let_go(station_id, node))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                return None
            case wire.Locate():
                return wire.encode(wire.Here(self.node))
            case wire.Command():
                return wire.encode(await self._run(station_id, inbound))

    async def _let_go(self, station_id: str, node: str) -> None:
        await self.detach(station_id)
        log.info("station_taken_over", station=station_id, by=node)
        await self._on_takeover(station_id, node)

    async def _run(self, station_id: str, message: wire.Command) -> wire.Done | wire.Failed:
        if message.caller is None:
            log.warning("routed_command_without_caller", station=station_id,
                        action=message.action, origin=message.origin)
            return wire.Failed(kind="Unauthorized", message="a command must name its caller",
                               node=self.node)
        try:
            request = wire.request_of(message)
        except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            return wire.Failed(kind="BadRequest", message=f"{message.action}: {exc}",
                               node=self.node)
        try:
            response = await self.local.send_command(station_id, request, message.timeout_s,
                                                     message.caller, message.origin)
        except CommandError as exc:
            return wire.failed(exc, self.node)
        except ActorDead:
            return wire.failed(StationOffline(station_id, message.action), self.node)
        except Exception as exc:
            # The caller on another node must get an answer; the bug is logged here in full.
            log.exception("routed_command_crashed", station=station_id, action=message.action,
                          origin=message.origin)
            return wire.Failed(kind=type(exc).__name__, message=str(exc), node=self.node)
        return wire.Done(payload=msgspec.Raw(wire.encode_payload(response)), node=self.node)


class RoutedCommander:
    """Sends a command to a station wherever it is connected: here directly, elsewhere by NATS.

    Raises the same typed errors as the local command API (StationOffline, CommandTimeout,
    StationBusy, CommandRejectedByState, StationCallError/InvalidResponse), plus
    RemoteCommandFailed when the holder crashed on the command.
    """

    def __init__(self, router: StationRouter) -> None:
        self._router = router

    def as_caller(self, caller: Caller) -> CallerCommander:
        """This commander with `caller` fixed (for jobs: `send(station_id, request)`)."""
        return CallerCommander(self, caller)

    async def send(self, station_id: str, request: msgspec.Struct,
                   timeout_s: float | None = None, *, caller: Caller) -> msgspec.Struct:
        """Return the station's response Struct (e.g. ResetResponse for a ResetRequest)."""
        router = self._router
        if router.holds(station_id):
            return await router.local.send_command(station_id, request, timeout_s, caller,
                                                   router.node)
        spec = wire.spec_of(request)
        data = wire.encode(wire.command(request, timeout_s, router.node, caller))
        wait_s = (timeout_s or router.default_timeout_s) + REPLY_MARGIN_S
        try:
            raw = await router.bus.request(command_subject(station_id, router.prefix), data,
                                           wait_s)
        except NoResponders:
            raise StationOffline(station_id, spec.name) from None
        except BusTimeout:
            raise CommandTimeout(station_id, spec.name, wait_s) from None
        reply = wire.decode_outbound(raw)
        match reply:
            case wire.Done():
                return wire.response_of(spec.name, reply)
            case wire.Failed():
                raise wire.error_of(reply, station_id, spec.name)
            case wire.Here():
                raise wire.RemoteCommandFailed(station_id, spec.name, reply.node,
                                               "answered a command with a location")

    async def locate(self, station_id: str, timeout_s: float = 2.0) -> str | None:
        """The name of the node holding `station_id`, or None when no node does."""
        router = self._router
        if router.holds(station_id):
            return router.node
        data = wire.encode(wire.Locate())
        try:
            raw = await router.bus.request(command_subject(station_id, router.prefix), data,
                                           timeout_s)
        except (NoResponders, BusTimeout):
            return None
        reply = wire.decode_outbound(raw)
        return reply.node if isinstance(reply, wire.Here) else None


class CallerCommander:
    """A RoutedCommander whose every command is sent for one fixed caller."""

    def __init__(self, commander: RoutedCommander, caller: Caller) -> None:
        self._commander = commander
        self.caller = caller

    async def send(self, station_id: str, request: msgspec.Struct,
                   timeout_s: float | None = None) -> msgspec.Struct:
        return await self._commander.send(station_id, request, timeout_s, caller=self.caller)
