"""Actor runtime micro-benchmark: creation, memory per idle actor, ask rate, restart latency.

Run: `.venv/bin/python -m bench.actors [--actors 100000] [--asks 200000]`; prints JSON, then a
markdown table. Each figure is shown next to a bare baseline measured in the same run: an
asyncio task reading an asyncio.Queue, answering through a future (no supervision, no paths).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import psutil
import structlog

from sigec_actors.runtime import (
    Actor,
    ActorRef,
    ActorSystem,
    ChildSpec,
    DynamicSupervisor,
    Restart,
    Supervisor,
    SupervisorRef,
)


class Idle(Actor[int]):
    """No user state: what remains is the runtime's own cost."""

    __slots__ = ()

    async def receive(self, msg: int) -> int:
        return msg + 1


# -- the bare baseline ------------------------------------------------------------------------


class BareActor:
    """A task reading an asyncio.Queue: the least an asyncio actor can be."""

    __slots__ = ("queue", "task")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[int, asyncio.Future[int]]] = asyncio.Queue(1000)
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            msg, fut = await self.queue.get()
            fut.set_result(msg + 1)

    async def ask(self, msg: int) -> int:
        fut = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((msg, fut))
        return await fut


# -- helpers ----------------------------------------------------------------------------------


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def quiet_json_logs() -> None:
    """Production-shaped logging (JSON, tracebacks formatted) written to /dev/null."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(20),
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=False,
    )


async def start_pool(max_restarts: int = 10**9) -> tuple[ActorSystem, SupervisorRef]:
    system = ActorSystem(name="bench")
    pool_spec = ChildSpec(
        "pool", lambda: DynamicSupervisor(max_restarts=max_restarts, within_s=1.0),
        shutdown_timeout_s=None,
    )  # fmt: skip
    root = ChildSpec("bench", lambda: Supervisor([pool_spec]), shutdown_timeout_s=None)
    root_ref = await system.start(root)
    await SupervisorRef(root_ref).which_children()
    return system, SupervisorRef(system.lookup("/bench/pool"))


async def spawn(pool: SupervisorRef, n: int) -> list[ActorRef[Any]]:
    refs = [await pool.start_child(ChildSpec(f"a{i}", Idle)) for i in range(n)]
    for _ in range(3):
        await asyncio.sleep(0)  # let every new task reach its idle wait
    return refs


async def measured_memory(make: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """tracemalloc bytes allocated (and kept) by `make()`."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = await make()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


# -- scenarios --------------------------------------------------------------------------------


async def bench_create(n: int) -> dict[str, Any]:
    gc.collect()
    rss0 = rss()
    system, pool = await start_pool()
    t0 = time.perf_counter()
    await spawn(pool, n)
    elapsed = time.perf_counter() - t0
    gc.collect()
    rss_per = (rss() - rss0) / n
    t1 = time.perf_counter()
    await system.shutdown()
    stop_s = time.perf_counter() - t1
    return {"actors": n, "create_s": round(elapsed, 3), "creates_per_s": round(n / elapsed),
            "rss_bytes_per_actor": round(rss_per), "shutdown_s": round(stop_s, 3)}  # fmt: skip


async def bench_memory(n: int) -> dict[str, Any]:
    system, pool = await start_pool()
    traced, refs = await measured_memory(lambda: spawn(pool, n))
    for ref in refs[: n // 10]:
        await ref.ask(1)  # an actor that has handled a message must be idle-cheap again
    gc.collect()
    await system.shutdown()

    async def bare() -> list[BareActor]:
        actors = [BareActor() for _ in range(n)]
        await asyncio.sleep(0)
        return actors

    bare_traced, bare_actors = await measured_memory(bare)
    for actor in bare_actors:
        actor.task.cancel()
    await asyncio.sleep(0)
    return {"actors": n, "bytes_per_idle_actor": round(traced / n),
            "baseline_bytes_per_actor": round(bare_traced / n)}  # fmt: skip


async def rate(asks: int, call: Callable[[int], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    for i in range(asks):
        await call(i)
    return asks / (time.perf_counter() - t0)


async def bench_asks(asks: int, spread: int, args_clients: int = 1000) -> dict[str, Any]:
    system, pool = await start_pool()
    one = (await spawn(pool, 1))[0]
    await rate(1000, one.ask)  # warm-up
    one_rate = await rate(asks, one.ask)
    one_no_timeout = await rate(asks, lambda i: one.ask(i, timeout=None))
    await system.shutdown()
    system, pool = await start_pool()
    refs = await spawn(pool, spread)
    spread_rate = await rate(asks, lambda i: refs[i % spread].ask(i))

    async def client(c: int, clients: int) -> None:
        for k in range(asks // clients):
            ref = refs[(c + k * clients) % spread]
            await ref.ask(k)

    async def concurrent(clients: int) -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c, clients) for c in range(clients)))
        return (asks // clients) * clients / (time.perf_counter() - t0)

    concurrent_rate = await concurrent(args_clients)
    await system.shutdown()
    bare = BareActor()
    bare_rate = await rate(asks, bare.ask)
    bare.task.cancel()
    return {"one_actor_asks_per_s": round(one_rate),
            "one_actor_asks_per_s_no_timeout": round(one_no_timeout),
            "spread_actors": spread, "spread_sequential_asks_per_s": round(spread_rate),
            "concurrent_clients": args_clients,
            "spread_concurrent_asks_per_s": round(concurrent_rate),
            "baseline_one_actor_asks_per_s": round(bare_rate)}  # fmt: skip


class Crashy(Actor[str]):
    """Records when it crashes and when its next incarnation has started."""

    __slots__ = ()
    marks: list[float] = []
    started: asyncio.Event | None = None

    async def on_start(self) -> None:
        Crashy.marks.append(time.perf_counter())
        if Crashy.started is not None:
            Crashy.started.set()

    async def receive(self, msg: str) -> None:
        Crashy.marks.append(time.perf_counter())
        raise RuntimeError("crash on purpose")


async def bench_restart(rounds: int) -> dict[str, Any]:
    system, pool = await start_pool()
    ref = await pool.start_child(ChildSpec("crashy", Crashy, restart=Restart.PERMANENT))
    await asyncio.sleep(0)
    samples = []
    for _ in range(rounds):
        Crashy.marks.clear()
        Crashy.started = asyncio.Event()
        ref.tell("crash")
        await Crashy.started.wait()
        samples.append((Crashy.marks[1] - Crashy.marks[0]) * 1e6)
    await system.shutdown()
    samples.sort()
    return {"rounds": rounds, "median_us": round(statistics.median(samples), 1),
            "p99_us": round(samples[int(len(samples) * 0.99) - 1], 1)}  # fmt: skip


# -- report -----------------------------------------------------------------------------------


def table(r: dict[str, Any]) -> str:
    c, m, a, s, q = r["create"], r["memory"], r["asks"], r["restart"], r["restart_no_logs"]
    rows = [
        ("create actors", f"{c['actors']:,} in {c['create_s']} s ({c['creates_per_s']:,}/s)", "-"),
        ("memory per idle actor (tracemalloc)", f"{m['bytes_per_idle_actor']:,} B",
         f"{m['baseline_bytes_per_actor']:,} B"),
        ("memory per idle actor (RSS delta)", f"{c['rss_bytes_per_actor']:,} B", "-"),
        ("asks/s, one actor", f"{a['one_actor_asks_per_s']:,}",
         f"{a['baseline_one_actor_asks_per_s']:,}"),
        ("asks/s, one actor, timeout=None", f"{a['one_actor_asks_per_s_no_timeout']:,}", "-"),
        (f"asks/s, sequential over {a['spread_actors']:,}",
         f"{a['spread_sequential_asks_per_s']:,}", "-"),
        (f"asks/s, {a['concurrent_clients']:,} client tasks over {a['spread_actors']:,}",
         f"{a['spread_concurrent_asks_per_s']:,}", "-"),
        ("restart of a crashed child, median / p99 (JSON log with traceback)",
         f"{s['median_us']} / {s['p99_us']} us", "-"),
        ("restart of a crashed child, median / p99 (logs filtered)",
         f"{q['median_us']} / {q['p99_us']} us", "-"),
        ("shutdown of all actors", f"{c['shutdown_s']} s", "-"),
    ]  # fmt: skip
    lines = ["| measure | sigec runtime | bare task+Queue |", "|---|---|---|"]
    lines += [f"| {name} | {ours} | {base} |" for name, ours, base in rows]
    return "\n".join(lines)


async def fresh(run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    gc.collect()  # each scenario starts on a clean heap, not on the previous one's garbage
    return await run


async def main(args: argparse.Namespace) -> dict[str, Any]:
    quiet_json_logs()
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "restart": await fresh(bench_restart(args.restarts)),
    }
    # the same restarts with log events filtered out: the runtime's own share
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(50))
    result["restart_no_logs"] = await fresh(bench_restart(args.restarts))
    quiet_json_logs()
    result["create"] = await fresh(bench_create(args.actors))
    result["memory"] = await fresh(bench_memory(args.memory_actors))
    result["asks"] = await fresh(bench_asks(args.asks, args.spread))
    return result


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actors", type=int, default=100_000)
    parser.add_argument("--memory-actors", type=int, default=20_000)
    parser.add_argument("--asks", type=int, default=200_000)
    parser.add_argument("--spread", type=int, default=10_000)
    parser.add_argument("--restarts", type=int, default=2_000)
    args = parser.parse_args(argv)
    result = asyncio.run(main(args))
    sys.stdout.write(json.dumps(result, indent=2) + "\n\n" + table(result) + "\n")


if __name__ == "__main__":
    cli()
