"""Introspection: the actor tree as frozen data, encoded to camelCase JSON for the console."""

from __future__ import annotations

from typing import Any

import msgspec

from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.recent import RecentMessage


class ActorFields(msgspec.Struct, frozen=True, rename="camel"):
    """What the tree and the detail both say of one actor at one instant."""

    path: str
    kind: str
    state: str
    mailbox_depth: int
    processed: int
    restarts: int
    uptime_s: float
    last_error: str | None


class ActorSnapshot(ActorFields, frozen=True, rename="camel"):
    """One actor and its subtree at one instant.

    JSON: `{path, kind, state, mailboxDepth, processed, restarts, uptimeS, lastError, children}`.
    """

    children: list[ActorSnapshot]


class ActorDetail(ActorFields, frozen=True, rename="camel"):
    """One actor for an operator: its fields, its children's keys (a supervisor may hold
    thousands), the messages it took last (oldest first; see runtime.recent) and its node."""

    child_keys: list[str]
    recent: list[RecentMessage]
    node: str


def fields_of(ctx: ActorContext[Any]) -> dict[str, Any]:
    """`ctx`'s ActorFields as keyword arguments."""
    actor = ctx.actor
    return {"path": ctx.path,
            "kind": ctx.spec.kind or ("?" if actor is None else type(actor).__name__),
            "state": "stopped" if actor is None else actor.state_summary(),
            "mailbox_depth": ctx.mailbox_depth, "processed": ctx.processed,
            "restarts": ctx.restarts, "uptime_s": round(ctx.uptime_s(), 3),
            "last_error": ctx.last_error}


def snapshot_of(ctx: ActorContext[Any]) -> ActorSnapshot:
    """Snapshot `ctx` and its children, recursively (synchronous: a consistent instant)."""
    actor = ctx.actor
    children = [] if actor is None else [snapshot_of(c) for c in actor._child_contexts()]
    return ActorSnapshot(**fields_of(ctx), children=children)


def detail_of(ctx: ActorContext[Any], node: str) -> ActorDetail:
    """`ctx` as an ActorDetail of the system (node) `node`."""
    actor = ctx.actor
    keys = [] if actor is None else [child.key for child in actor._child_contexts()]
    return ActorDetail(**fields_of(ctx), child_keys=keys, recent=ctx.recent(), node=node)
