"""Watch the cluster's processes by pidfd (not our children: thespian daemonizes its admin)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
from collections.abc import Callable

import structlog

log = structlog.get_logger("cluster.procs")


class ProcessWatch:
    """pidfds of the processes this `serve` started through thespian.

    A pidfd names one process for good (no pid reuse), becomes readable when it exits, and
    lets us kill exactly that process: the last resort when a graceful stop left one behind.
    """

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}
        self._watched: list[int] = []

    def add(self, *pids: int) -> None:
        for pid in pids:
            if pid in self._fds:
                continue
            try:
                self._fds[pid] = os.pidfd_open(pid)
            except ProcessLookupError:
                continue  # already gone

    def on_exit(self, pid: int, callback: Callable[[], None]) -> None:
        """Call `callback` on the running loop when `pid` exits."""
        self.add(pid)
        fd = self._fds.get(pid)
        if fd is None:
            callback()
            return
        loop = asyncio.get_running_loop()

        def fired() -> None:
            loop.remove_reader(fd)
            self._watched.remove(fd)
            callback()

        loop.add_reader(fd, fired)
        self._watched.append(fd)

    def stop_watching(self) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._watched:
            loop.remove_reader(fd)
        self._watched.clear()

    def alive(self) -> list[int]:
        """Pids (of those added) that have not exited yet."""
        fds = list(self._fds.items())
        if not fds:
            return []
        ready, _, _ = select.select([fd for _, fd in fds], [], [], 0)
        return [pid for pid, fd in fds if fd not in ready]

    async def reap(self, timeout_s: float) -> list[int]:
        """Wait up to `timeout_s` for every process to exit; SIGKILL the rest. Return those."""
        await self._wait_all(timeout_s)
        survivors = self.alive()
        for pid in survivors:
            log.warning("cluster_process_killed", pid=pid)
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._fds[pid], signal.SIGKILL)
        self.close()
        return survivors

    async def _wait_all(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        pending = {self._fds[pid] for pid in self.alive()}
        if not pending:
            return
        all_gone = asyncio.Event()

        def exited(fd: int) -> None:
            loop.remove_reader(fd)
            pending.discard(fd)
            if not pending:
                all_gone.set()

        for fd in pending:
            loop.add_reader(fd, exited, fd)
        try:
            async with asyncio.timeout(timeout_s):
                await all_gone.wait()
        except TimeoutError:
            pass
        finally:
            for fd in pending:
                loop.remove_reader(fd)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
