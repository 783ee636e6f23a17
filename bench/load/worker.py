"""A load worker process: its own event loop driving a slice of the stations."""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from bench.load.behaviours import behaviour_for
from bench.load.config import GO_AT, STOP, LoadConfig
from bench.load.limits import raise_nofile
from bench.load.station import WorkerCtx, expire_calls, run_station

_POLL_S = 0.05
_GRACE_S = 2.0  # after STOP, how long stations get to notice before they are cancelled


def worker_main(cfg: dict[str, Any], first: int, count: int, counters: Any, flags: Any,
                results: Any) -> None:
    """Process entry point: run stations [first, first+count) and put the stats on `results`."""
    raise_nofile()
    gc.set_threshold(50_000, 20, 50)  # thousands of long-lived sockets: collect less often
    config = LoadConfig(**cfg)
    if config.client_nice > 0:
        os.nice(config.client_nice)
    if config.client_sched == "batch":
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    results.put(("ready", first, None))
    ctx = WorkerCtx(config, counters, flags)
    loop_name, factory = loop_factory(config.client_loop)
    ctx.stats.loops[loop_name] += 1
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_drive(ctx, first, count))
    except Exception as exc:
        ctx.error(f"worker:{type(exc).__name__}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ctx.stats.cpu_s = usage.ru_utime + usage.ru_stime
    ctx.fold_samples()
    results.put(("done", first, ctx.stats.to_state()))


def loop_factory(name: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """("uvloop", its factory) when asked for and installed, else ("asyncio", None)."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return "asyncio", None
        return "uvloop", uvloop.new_event_loop
    return "asyncio", None


async def _drive(ctx: WorkerCtx, first: int, count: int) -> None:
    flags, cfg = ctx.flags, ctx.cfg
    ctx.refresh()
    while not flags[GO_AT] and not flags[STOP]:  # noqa: ASYNC110 - set by another process
        await asyncio.sleep(_POLL_S)
    go_at = flags[GO_AT]
    behaviour = behaviour_for(cfg)
    spread = cfg.ramp_s / cfg.stations
    tasks = [asyncio.create_task(run_station(
        ctx, cfg.station_id(i), go_at + i * spread, behaviour))
        for i in range(first, first + count)]
    ticks = 0
    while not flags[STOP]:
        await asyncio.sleep(_POLL_S)
        ctx.refresh()
        ticks += 1
        if ticks % 20 == 0:  # once a second
            expire_calls(ctx)
            if all(t.done() for t in tasks):
                break
    ctx.refresh()
    deadline = time.monotonic() + _GRACE_S
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ws in list(ctx.sockets):
        ws.abort()
