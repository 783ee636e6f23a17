"""An asyncio handle on thespian's external API: one thread makes every call, a pump listens."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from thespian.actors import ActorSystem

from sigec_actors.cluster import tree as trees
from sigec_actors.cluster.bind import use_address
from sigec_actors.cluster.messages import (
    DIRECTOR_NAME,
    ClusterStarted,
    ClusterStartFailed,
    ClusterStopped,
    Escalated,
    GetTree,
    NodeInfo,
    NodesChanged,
    StartCluster,
    StopCluster,
    Tree,
)
from sigec_actors.cluster.tree import ClusterTree
from sigec_actors.errors import SigecError

log = structlog.get_logger("cluster.client")

SYSTEM_BASE = "multiprocTCPBase"
"""Never multiprocQueueBase: it deadlocked under a burst (DESIGN.md §1)."""
LISTEN_S = 0.1
"""How long one `listen` blocks the thespian thread; bounds the latency of a control request."""


class ClusterError(SigecError):
    """The cluster could not start or answer a control request."""


def admin_listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP on the admin port (so thespian will not start one)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def reply_key(message: Any) -> Hashable | None:
    """The key shared by a request to the director and the message that answers it."""
    match message:
        case StartCluster() | ClusterStarted() | ClusterStartFailed():
            return ("start",)
        case GetTree() | Tree():
            return ("tree", message.ref)
        case StopCluster() | ClusterStopped():
            return ("stop", message.ref)
        case _:
            return None


class ThespianClient:
    """The process's endpoint in the ActorSystem; thespian calls all run on one thread.

    thespian's external API is not thread-safe and `ask` returns whatever message arrives
    first, so requests are `tell`s answered by messages carrying a `ref`, and a pump task keeps
    `listen`ing and routes answers (and unsolicited `Escalated` notices) to futures.
    """

    def __init__(self, capabilities: Mapping[str, Any]) -> None:
        self.capabilities = dict(capabilities)
        self.system: Any = None
        self.director: Any = None
        self.escalated: asyncio.Future[str] | None = None
        self.on_nodes: Callable[[list[NodeInfo]], None] | None = None
        """Called (on the loop) with this host's nodes when the director restarted one."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="thespian")
        self._waiting: dict[Hashable, asyncio.Future[Any]] = {}
        self._refs = itertools.count(1)
        self._pump: asyncio.Task[None] | None = None
        self._closing = False

    async def call(self, fn: Any, *args: Any) -> Any:
        """Run one thespian call on the thespian thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self, create_director: bool = True) -> None:
        """Start (or join) the ActorSystem; with `create_director`, find or create the director."""
        from sigec_actors.cluster.director import CsmsDirector

        loop = asyncio.get_running_loop()
        self.escalated = loop.create_future()
        self.system = await self.call(
            lambda: ActorSystem(SYSTEM_BASE, self.capabilities, transientUnique=True))
        if create_director:
            self.director = await self.call(
                lambda: self.system.createActor(CsmsDirector, globalName=DIRECTOR_NAME))
        self._pump = asyncio.create_task(self._listen(), name="thespian-pump")

    async def tell(self, message: Any) -> None:
        """Send the director a message that has no answer."""
        await self.call(self.system.tell, self.director, message)

    def next_ref(self) -> int:
        return next(self._refs)

    async def request(self, message: Any, timeout_s: float) -> Any:
        """Tell the director `message` and wait for the answer with the same reply key."""
        key = reply_key(message)
        assert key is not None, f"{type(message).__name__} is not a request"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            await self.call(self.system.tell, self.director, message)
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise ClusterError(f"the director did not answer {type(message).__name__} "
                               f"within {timeout_s:g} s") from None
        finally:
            self._waiting.pop(key, None)

    async def tree(self, timeout_s: float = 2.0) -> ClusterTree:
        """The whole tree, director -> nodes -> actors."""
        reply = await self.request(GetTree(self.next_ref(), timeout_s), timeout_s + 2.0)
        return trees.decode(reply.json)

    async def _listen(self) -> None:
        while not self._closing:
            message = await self.call(self.system.listen, LISTEN_S)
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: Any) -> None:
        if isinstance(message, Escalated):
            if self.escalated is not None and not self.escalated.done():
                self.escalated.set_result(message.reason)
            return
        if isinstance(message, NodesChanged):
            if self.on_nodes is not None:
                self.on_nodes(message.nodes)
            return
        future = self._waiting.get(reply_key(message) or ())
        if future is not None and not future.done():
            future.set_result(message)
        else:
            log.debug("cluster_message_ignored", message=type(message).__name__)

    async def close(self, shutdown: bool) -> None:
        """Stop listening; with `shutdown`, stop the whole ActorSystem (admin and actors)."""
        self._closing = True
        try:
            if self._pump is not None:
                await self._pump
        finally:  # whatever the pump died of, the ActorSystem must still be shut down
            if self.system is not None and shutdown:
                await self.call(self.system.shutdown)
            self._executor.shutdown(wait=True)


async def fetch_tree(admin_port: int, host: str = "127.0.0.1",
                     timeout_s: float = 3.0) -> ClusterTree:
    """The tree of the cluster whose director listens on `admin_port` (console, scripts, tests).

    Refuses to connect when nothing listens there: thespian would start a new admin instead.
    """
    if not admin_listening(host, admin_port):
        raise ClusterError(f"no cluster admin on {host}:{admin_port}")
    use_address(host)  # thespian would look for the admin on this machine's routed address
    client = ThespianClient({"Admin Port": admin_port})
    try:
        await client.open()
        return await client.tree(timeout_s)
    finally:
        await client.close(shutdown=False)
