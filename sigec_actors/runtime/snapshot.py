"""Introspection: the actor tree as frozen data, encoded to camelCase JSON for the console."""

from __future__ import annotations

from typing import Any

import msgspec

from sigec_actors.runtime.context import ActorContext


class ActorSnapshot(msgspec.Struct, frozen=True, rename="camel"):
    """One actor and its subtree at one instant.

    JSON: `{path, kind, state, mailboxDepth, processed, restarts, uptimeS, lastError, children}`.
    """

    path: str
    kind: str
    state: str
    mailbox_depth: int
    processed: int
    restarts: int
    uptime_s: float
    last_error: str | None
    children: list[ActorSnapshot]


def snapshot_of(ctx: ActorContext[Any]) -> ActorSnapshot:
    """Snapshot `ctx` and its children, recursively (synchronous: a consistent instant)."""
    actor = ctx.actor
    if actor is None:
        kind, state, children = ctx.spec.kind or "?", "stopped", []
    else:
        kind = ctx.spec.kind or type(actor).__name__
        state = actor.state_summary()
        children = [snapshot_of(child) for child in actor._child_contexts()]
    return ActorSnapshot(
        path=ctx.path,
        kind=kind,
        state=state,
        mailbox_depth=ctx.mailbox_depth,
        processed=ctx.processed,
        restarts=ctx.restarts,
        uptime_s=round(ctx.uptime_s(), 3),
        last_error=ctx.last_error,
        children=children,
    )
