"""Re-allocation latency and CPU of one Site actor with N EVSEs when a session starts.

`python -m bench.site_allocation [--evses 200] [--rounds 200] [--send-ms 0.0]`

The real Site actor (actor runtime, pure `decide`, the shell's two send phases) runs over a
store with N-1 sessions; each round ends one session and starts another, and the latency of
the start is taken from the tell until every changed EVSE's SetChargingProfile was answered.
Sends are answered by an in-process fake after `--send-ms` (the station round trip); with the
fair strategy one start changes every EVSE's share, so a round sends N profiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from uuid import UUID, uuid4

from sigec_actors.runtime import ActorSystem, ChildSpec
from sigec_actors.smart_charging.allocation import Strategy
from sigec_actors.smart_charging.site import SendLimit, SessionEnded, SessionSeen
from sigec_actors.smart_charging.site_actor import GetLoad, Site, SiteDeps
from sigec_actors.smart_charging.store import ActiveSession, SiteLimits


class BenchStore:
    def __init__(self, location: UUID, evses: int, limit_w: int) -> None:
        self.limits = SiteLimits(location_id=location, grid_limit_w=limit_w,
                                 strategy=Strategy.FAIR, min_per_evse_w=1_380,
                                 max_per_evse_w=22_000)
        self.sessions = [ActiveSession(charge_point_id=f"CP-{i:04d}", evse_id=1,
                                       transaction_id=f"tx-{i}", online=True)
                         for i in range(evses - 1)]

    async def site(self, location_id: UUID) -> SiteLimits | None:
        return self.limits

    async def active_sessions(self, location_id: UUID) -> list[ActiveSession]:
        return self.sessions

    async def external_limits_w(self, location_id: UUID) -> int:
        return 0

    async def online_stations(self, location_id: UUID) -> list[str]:
        return []


class Sender:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.sent = 0
        self.done: asyncio.Event = asyncio.Event()
        self.expected = 0

    async def send(self, limit: SendLimit) -> bool:
        await asyncio.sleep(self.delay_s)
        self.sent += 1
        return True


async def run(evses: int, rounds: int, send_ms: float) -> dict[str, float]:
    location = uuid4()
    store = BenchStore(location, evses, limit_w=evses * 2_000)
    sender = Sender(send_ms / 1000)
    system = ActorSystem(name="bench")
    ref = await system.start(ChildSpec(key=str(location), factory=lambda: Site(
        location, SiteDeps(store, sender.send)), kind="Site"))
    await ref.ask(GetLoad())
    latencies, cpu, sends = [], [], []
    for i in range(rounds):
        gone = store.sessions[i % len(store.sessions)]
        ref.tell(SessionEnded(gone.charge_point_id, gone.transaction_id))
        await ref.ask(GetLoad())
        before_sent, wall, proc = sender.sent, time.perf_counter(), time.process_time()
        ref.tell(SessionSeen(gone.charge_point_id, 1, f"{gone.transaction_id}-{i}"))
        store.sessions[i % len(store.sessions)] = ActiveSession(
            charge_point_id=gone.charge_point_id, evse_id=1,
            transaction_id=f"{gone.transaction_id}-{i}", online=True)
        await ref.ask(GetLoad())  # answered after the start's sends (one message at a time)
        latencies.append((time.perf_counter() - wall) * 1000)
        cpu.append((time.process_time() - proc) * 1000)
        sends.append(sender.sent - before_sent)
    await system.shutdown()
    q = statistics.quantiles(latencies, n=100)
    return {"evses": evses, "rounds": rounds, "send_ms": send_ms,
            "p50_ms": round(statistics.median(latencies), 3), "p99_ms": round(q[98], 3),
            "cpu_ms_per_start_p50": round(statistics.median(cpu), 3),
            "sends_per_start_median": statistics.median(sends)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.site_allocation")
    parser.add_argument("--evses", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--send-ms", type=float, default=0.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.evses, args.rounds, args.send_ms))))


if __name__ == "__main__":
    main()
