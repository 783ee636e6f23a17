"""A cheap count over a running tree: how many children one supervisor holds and the deepest
mailbox, without building a snapshot (no per-actor strings; a node reports it every few s)."""

from __future__ import annotations

from typing import Any

import msgspec

from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.system import ActorSystem


class Census(msgspec.Struct, frozen=True):
    held: int  # children of the supervisors keyed `key`
    mailbox_depth_max: int


def census(system: ActorSystem, key: str) -> Census:
    """Walk `system`'s running tree once (synchronously: one instant)."""
    root: ActorContext[Any] | None = system._root
    if root is None:
        raise RuntimeError("ActorSystem.start() has not been called")
    held = deepest = 0
    stack = [root]
    while stack:
        ctx = stack.pop()
        deepest = max(deepest, ctx.mailbox_depth)
        actor = ctx.actor
        if actor is None:
            continue
        children = list(actor._child_contexts())
        if ctx.key == key:
            held += len(children)
        stack.extend(children)
    return Census(held, deepest)
