"""Cross-node V2G control on NATS: typed messages naming their caller, and the audit of both."""

from __future__ import annotations

from uuid import UUID

import msgspec
import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.domain.records import AuditEntry, Caller
from sigec_actors.ports import AuditLog

log = structlog.get_logger("v2g")

CONTROL = "sigec.v2g.control"
"""Core NATS subject every node subscribes: run a station's sessions, or stop one."""
START = "v2g.discharge_start"
STOP = "v2g.discharge_stop"


class RunSessions(msgspec.Struct, frozen=True, kw_only=True, tag="run",
                  rename="camel"):
    """Run the station's live sessions on the node holding it (a start made elsewhere).

    `caller` is who started the discharge; a message without one is refused."""

    station_id: str
    session_id: UUID | None = None
    caller: Caller | None = None
    origin: str = ""


class StopSession(msgspec.Struct, frozen=True, kw_only=True, tag="stop",
                  rename="camel"):
    """Stop one session on the node running its actor, for `caller` (refused without one)."""

    session_id: UUID
    reason: str = "user"
    caller: Caller | None = None
    origin: str = ""


class ControlReply(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The answer to a StopSession: `error` is `Unauthorized` for a message with no caller."""

    ok: bool
    error: str | None = None


ControlMsg = RunSessions | StopSession
UNAUTHORIZED = ControlReply(ok=False, error="Unauthorized")


def encode(msg: ControlMsg | ControlReply) -> bytes:
    return msgspec.json.encode(msg)


def decode(data: bytes) -> ControlMsg:
    """The control message; msgspec.DecodeError / ValidationError for anything else."""
    return msgspec.json.decode(data, type=ControlMsg)


def decode_reply(data: bytes) -> ControlReply:
    return msgspec.json.decode(data, type=ControlReply)


class V2GAudit:
    """Audits what a `user` caller asked of V2G on this node, as AuditedCommands does for
    station commands: actor = the caller's user id, action `v2g.discharge_start|stop`, target
    the station, details = role, result (`ok` or the error's name), session, reason, this node
    and the node that asked. The node's own jobs (`system` callers) are not audited."""

    def __init__(self, audit: AuditLog | None, node: str) -> None:
        self._audit = audit
        self.node = node

    async def record(self, action: str, caller: Caller, station_id: str, *,
                     result: str, origin: str, session_id: UUID | None = None,
                     reason: str | None = None) -> None:
        if self._audit is None or caller.actor_type != "user":
            return
        details: dict[str, object] = {"role": caller.role, "result": result,
                                      "node": self.node, "origin": origin or self.node}
        if session_id is not None:
            details["sessionId"] = str(session_id)
        if reason is not None:
            details["reason"] = reason
        try:
            await self._audit.record(AuditEntry("user", action, caller.actor_id, "station",
                                                station_id, details))
        except DB_FAILURES as exc:  # the session already moved: the answer still goes back
            log.error("v2g.audit_failed", station=station_id, action=action,
                      by=caller.actor_id, error=f"{type(exc).__name__}: {exc}")
