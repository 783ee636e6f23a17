"""Introspection: the actor tree as frozen data, encoded to camelCase JSON for the console."""

from __future__ import annotations

from typing import Any

import msgspec

from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.recent import RecentMessage


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
    top = snapshot_of_one(ctx)
    actor = ctx.actor
    if actor is None:
        return top
    return msgspec.structs.replace(
        top, children=[snapshot_of(child) for child in actor._child_contexts()])


class ActorDetail(msgspec.Struct, frozen=True, rename="camel"):
    """One actor for an operator: its snapshot fields, its children's keys, the messages it
    took last (oldest first; see runtime.recent) and the system (node) it runs in."""

    path: str
    kind: str
    state: str
    mailbox_depth: int
    processed: int
    restarts: int
    uptime_s: float
    last_error: str | None
    child_keys: list[str]
    recent: list[RecentMessage]
    node: str


def detail_of(ctx: ActorContext[Any], node: str) -> ActorDetail:
    """`ctx` as an ActorDetail (its children by key only: a supervisor may hold thousands)."""
    top = snapshot_of_one(ctx)
    actor = ctx.actor
    keys = [] if actor is None else [child.key for child in actor._child_contexts()]
    return ActorDetail(
        path=top.path, kind=top.kind, state=top.state, mailbox_depth=top.mailbox_depth,
        processed=top.processed, restarts=top.restarts, uptime_s=top.uptime_s,
        last_error=top.last_error, child_keys=keys, recent=ctx.recent(),
        node=node)


def snapshot_of_one(ctx: ActorContext[Any]) -> ActorSnapshot:
    """`ctx` alone (no children)."""
    actor = ctx.actor
    kind = ctx.spec.kind or ("?" if actor is None else type(actor).__name__)
    return ActorSnapshot(
        path=ctx.path, kind=kind, state="stopped" if actor is None else actor.state_summary(),
        mailbox_depth=ctx.mailbox_depth, processed=ctx.processed, restarts=ctx.restarts,
        uptime_s=round(ctx.uptime_s(), 3), last_error=ctx.last_error, children=[])
