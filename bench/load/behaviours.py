"""What a booted station does in each scenario; every loop ends when the worker stops."""

from __future__ import annotations

import random
import time
from typing import Any

from bench.load.config import LoadConfig
from bench.load.frames import meter_values, transaction_event
from bench.load.pump import ClosedLoop
from bench.load.station import Behaviour, Station

_IDLE_TICK_S = 0.5  # how often an idle station looks at the stop flag


async def idle(station: Station) -> None:
    """boot-storm / reconnect-storm: stay connected, answer CSMS CALLs."""
    while not station.ctx.stopping:
        await station.idle_until(time.monotonic() + _IDLE_TICK_S)


async def closed_loop(station: Station) -> None:
    """steady with periods 0: Heartbeat and StatusNotification back to back, as fast as answered,
    driven from the protocol callback (bench/load/pump.py)."""
    await ClosedLoop(station, ("Heartbeat", "StatusNotification")).run()


async def _call(station: Station, action: str, payload: dict[str, Any] | None = None) -> None:
    """One CALL of `action` (constant payload when `payload` is None), answer awaited."""
    uid, frames = station.next_uid(), station.ctx.frames
    frame = (frames.call(uid, action) if payload is None
             else frames.call_with(uid, action.split(":", 1)[0], payload))
    await station.call(action, uid, frame)


async def periodic(station: Station) -> None:
    """steady/commands: Heartbeat and StatusNotification each on its own period (open loop)."""
    cfg = station.ctx.cfg
    periods = {"Heartbeat": cfg.heartbeat_every_s, "StatusNotification": cfg.status_every_s}
    now = time.monotonic()
    # Random phase so that stations do not fire in lockstep.
    due = {a: now + random.uniform(0, p) for a, p in periods.items() if p > 0}  # noqa: S311
    while not station.ctx.stopping:
        if not due:
            await station.idle_until(time.monotonic() + _IDLE_TICK_S)
            continue
        action = min(due, key=due.__getitem__)
        await station.idle_until(min(due[action], time.monotonic() + _IDLE_TICK_S))
        if time.monotonic() < due[action] or station.ctx.stopping:
            continue
        await _call(station, action)
        # Keep the schedule, but never try to catch up a backlog in a burst.
        due[action] = max(due[action] + periods[action], time.monotonic())


async def transactions(station: Station) -> None:
    """Started, then Updated (or MeterValues) every meter period, Ended after tx_length; repeat."""
    cfg = station.ctx.cfg
    await station.idle_until(time.monotonic() + random.uniform(0, cfg.meter_every_s))  # noqa: S311
    number = 0
    while not station.ctx.stopping:
        number += 1
        await _one_transaction(station, cfg, f"{station.sid}-{number}")
        await station.idle_until(time.monotonic() + cfg.meter_every_s)


async def _one_transaction(station: Station, cfg: LoadConfig, tx_id: str) -> None:
    seq, energy = 0, 0.0
    await _call(station, "TransactionEvent:Started",
                transaction_event("Started", tx_id, seq, energy))
    end_at = time.monotonic() + cfg.tx_length_s
    while not station.ctx.stopping and time.monotonic() + cfg.meter_every_s < end_at:
        await station.idle_until(time.monotonic() + cfg.meter_every_s)
        seq, energy = seq + 1, energy + 7.4e3 * cfg.meter_every_s / 3600
        if cfg.meter_values:
            await _call(station, "MeterValues", meter_values(energy))
        else:
            await _call(station, "TransactionEvent:Updated",
                        transaction_event("Updated", tx_id, seq, energy))
    if station.ctx.stopping:
        return
    await station.idle_until(end_at)
    await _call(station, "TransactionEvent:Ended",
                transaction_event("Ended", tx_id, seq + 1, energy))


def behaviour_for(cfg: LoadConfig) -> Behaviour:
    """The station loop of a scenario."""
    if cfg.scenario in ("boot-storm", "reconnect-storm"):
        return idle
    if cfg.scenario == "transactions":
        return transactions
    return closed_loop if cfg.closed_loop else periodic
