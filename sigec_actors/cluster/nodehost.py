"""NodeHost: a thespian actor (one OS process) running an asyncio node on a loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import structlog
from thespian.actors import Actor, ActorExitRequest, WatchMessage

from sigec_actors.cluster.bridge import Bridge
from sigec_actors.cluster.hosted import HostedNode
from sigec_actors.cluster.messages import (
    CAP_HOST,
    CAP_NODE,
    NodeFailed,
    NodeSpec,
    NodeStopped,
    SnapshotNode,
    StartNode,
    StopNode,
    Tree,
)

log = structlog.get_logger("cluster.nodehost")

_EXIT = "sigec-nodehost-exit"
"""Posted to the host itself when the node's loop ended with an error: the host exits."""


class NodeHost(Actor):  # type: ignore[misc]  # thespian is untyped
    """Owns one node process; every `self.send` happens here, on thespian's thread.

    The node's event loop runs on its own thread; it reaches thespian only through the Bridge.
    A node whose loop fails reports NodeFailed and the host exits, so the director restarts it.
    """

    @staticmethod
    def actorSystemCapabilityCheck(capabilities: dict[str, Any],
                                   requirements: dict[str, Any]) -> bool:
        """Place only on members advertising `sigec-node`, and on the requested host."""
        if capabilities.get(CAP_NODE) is not True:
            return False
        wanted = (requirements or {}).get(CAP_HOST)
        return wanted is None or capabilities.get(CAP_HOST) == wanted

    def __init__(self) -> None:
        super().__init__()
        self._bridge = Bridge()
        self._director: Any = None
        self._hosted: HostedNode | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._name = "?"

    def receiveMessage(self, message: Any, sender: Any) -> Any:
        match message:
            case StartNode():
                self._start(message.spec, sender)
            case WatchMessage():
                self._flush()
            case SnapshotNode():
                self._call(lambda hosted: hosted.snapshot(message.ref))
            case Tree():
                self._call(lambda hosted: hosted.control.deliver(message.ref, message.json))
            case StopNode():
                self._stop_node()
                log.info("nodehost_stopped", node=self._name)
                self.send(sender, NodeStopped(self._name))
            case ActorExitRequest():
                self._stop_node()
                self._bridge.close()
        return self._bridge.watch()

    def _start(self, spec: NodeSpec, director: Any) -> None:
        if self._thread is not None:
            return
        self._director, self._name = director, spec.name
        self._loop = asyncio.new_event_loop()
        self._hosted = HostedNode(spec, lambda message: self._bridge.post(director, message))
        self._thread = threading.Thread(target=self._run_loop, name=f"{spec.name}-loop",
                                        daemon=True)
        self._thread.start()

    def _run_loop(self) -> None:
        """The node's thread: run until stopped; on failure report it and make the host exit."""
        assert self._loop is not None
        assert self._hosted is not None
        loop = self._loop
        try:
            with asyncio.Runner(loop_factory=lambda: loop) as runner:
                runner.run(self._hosted.run())
        except Exception as exc:
            log.exception("node_crashed", node=self._name)
            self._bridge.post(self._director, NodeFailed(self._name, f"{type(exc).__name__}: "
                                                                     f"{exc}"))
            self._bridge.post(None, _EXIT)

    def _flush(self) -> None:
        for target, message in self._bridge.drain():
            if message == _EXIT:
                self.send(self.myAddress, ActorExitRequest())
            else:
                self.send(target, message)

    def _call(self, fn: Any) -> None:
        """thespian -> asyncio: run `fn(hosted)` on the node's loop (if it still runs)."""
        hosted, loop = self._hosted, self._loop
        if hosted is None or loop is None or loop.is_closed():
            return
        # The loop may close between the check and the call: then the node is gone anyway.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, hosted)

    def _stop_node(self) -> None:
        """Graceful stop, blocking this (thespian) thread until the node finished or timed out."""
        thread, hosted = self._thread, self._hosted
        if thread is None or hosted is None or not thread.is_alive():
            return
        self._call(lambda h: h.request_stop())
        timeout_s = hosted.settings.server.shutdown_timeout_s * 0.6
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("node_stop_timed_out", node=self._name, timeout_s=timeout_s)
        self._flush()
