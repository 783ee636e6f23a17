"""Pure console logic: the snapshot model, filtering, text rendering and station commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec

_STATION = re.compile(r"(?:^|/)charge-points/([^/]+)$")


class RecentMessage(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of an actor's `recent` list (GET /api/v1/admin/actors/detail, newest last)."""

    at: str | float = ""
    direction: str = ""
    summary: str = ""
    kind: str = ""
    age_s: float | None = None


class ActorNode(msgspec.Struct, frozen=True, rename="camel"):
    """One node of GET /api/v1/admin/actors; unknown keys are ignored, missing ones default."""

    path: str
    kind: str = "?"
    state: str = ""
    mailbox_depth: int = 0
    processed: int = 0
    restarts: int = 0
    uptime_s: float = 0.0
    last_error: str | None = None
    children: tuple[ActorNode, ...] = ()
    recent: tuple[RecentMessage, ...] | None = None
    pid: int | None = None
    host: str | None = None
    child_keys: tuple[str, ...] | None = None  # the detail endpoint's instead of `children`
    node: str | None = None

    @property
    def name(self) -> str:
        """The last path segment (the station id for a charge point)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1] or self.path


def decode_snapshot(data: bytes) -> ActorNode:
    """Decode the snapshot JSON (raises msgspec.DecodeError on a foreign shape)."""
    return msgspec.json.decode(data, type=ActorNode)


def walk(root: ActorNode, depth: int = 0) -> Iterator[tuple[int, ActorNode]]:
    """Every node with its depth, pre-order (the order of the tree on screen)."""
    yield depth, root
    for child in root.children:
        yield from walk(child, depth + 1)


def find(root: ActorNode, path: str) -> ActorNode | None:
    """The node at `path`, or None."""
    return next((node for _, node in walk(root) if node.path == path), None)


def filter_tree(root: ActorNode, text: str) -> ActorNode | None:
    """Keep nodes whose path contains `text` (case-insensitive), their subtrees and ancestors.

    An empty filter keeps everything; None means nothing matched.
    """
    needle = text.strip().casefold()
    if not needle or needle in root.path.casefold():
        return root
    kept = tuple(c for c in (filter_tree(child, needle) for child in root.children) if c)
    return msgspec.structs.replace(root, children=kept) if kept else None


def limit_children(root: ActorNode, limit: int) -> ActorNode:
    """Keep at most `limit` children per node; the rest become one `+N more` placeholder.

    The placeholder (kind "more") is not an actor: its path exists in no snapshot.
    """
    children = tuple(limit_children(child, limit) for child in root.children[:limit])
    hidden = len(root.children) - limit
    if hidden > 0:
        children += (ActorNode(path=f"{root.path}/+{hidden} more", kind="more",
                               state="type a station id in the filter to see them"),)
    if len(children) == len(root.children) and all(
            a is b for a, b in zip(children, root.children, strict=True)):
        return root
    return msgspec.structs.replace(root, children=children)


def structure(root: ActorNode | None) -> tuple[str, ...]:
    """The paths in display order: equal structures can be relabelled in place."""
    return () if root is None else tuple(node.path for _, node in walk(root))


def visible_paths(root: ActorNode, collapsed: frozenset[str] | set[str]) -> list[str]:
    """Paths of the lines a tree view shows when the nodes in `collapsed` are folded."""
    lines = [root.path]
    if root.path not in collapsed:
        for child in root.children:
            lines.extend(visible_paths(child, collapsed))
    return lines


def cursor_line(lines: list[str], wanted: str | None) -> int:
    """Line of `wanted`, else of its nearest shown ancestor (an actor that vanished), else 0."""
    path = wanted
    while path:
        if path in lines:
            return lines.index(path)
        path = path.rsplit("/", 1)[0]
    return 0


def station_id(path: str) -> str | None:
    """The station id when `path` is a charge point actor (`/<node>/charge-points/<id>`)."""
    match = _STATION.search(path)
    return match.group(1) if match else None


def format_uptime(seconds: float) -> str:
    """Compact uptime: 4.2s, 12m03s, 1h02m, 3d04h."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def label(node: ActorNode, *, full_path: bool = False) -> str:
    """One line for the tree view: name, kind, counters, then the state (cut first if narrow)."""
    if node.kind == "more":
        return f"{node.name}  ({node.state})"
    name = node.path if full_path else node.name
    error = "  ! error" if node.last_error else ""
    return (f"{name}  {node.kind}  mbox {node.mailbox_depth}  restarts {node.restarts}"
            f"{error}  · {node.state}")


def render_line(depth: int, node: ActorNode) -> str:
    """One line of `--snapshot`: indented path, then every field as key=value."""
    error = node.last_error if node.last_error is not None else "-"
    return (f"{'  ' * depth}{node.path}  {node.kind}  state={node.state!r}  "
            f"mailbox={node.mailbox_depth}  processed={node.processed}  "
            f"restarts={node.restarts}  uptime={format_uptime(node.uptime_s)}  "
            f"lastError={error}")


def render_text(root: ActorNode | None) -> str:
    """The whole tree as indented text (what `sigec console --snapshot` prints)."""
    if root is None:
        return "(no actor matches the filter)\n"
    return "".join(render_line(depth, node) + "\n" for depth, node in walk(root))


def decode_detail(data: bytes) -> ActorNode:
    """Decode GET /api/v1/admin/actors/detail (raises msgspec.DecodeError on a foreign shape)."""
    return msgspec.json.decode(data, type=ActorNode)


def detail_lines(node: ActorNode, *, recent_note: str = "loading...") -> list[str]:
    """Every snapshot field of one actor, then its recent messages (`node.recent`; while it is
    None, `recent_note` says why: loading, or the error that kept them away)."""
    lines = [
        f"path        {node.path}",
        f"kind        {node.kind}",
        f"state       {node.state or '-'}",
        f"mailbox     {node.mailbox_depth}",
        f"processed   {node.processed}",
        f"restarts    {node.restarts}",
        f"uptime      {format_uptime(node.uptime_s)} ({node.uptime_s:g} s)",
        f"last error  {node.last_error or '-'}",
        f"children    {len(node.children) if node.child_keys is None else len(node.child_keys)}",
    ]
    if node.pid is not None or node.host is not None:
        lines.append(f"process     pid {node.pid or '-'} on {node.host or '-'}")
    station = station_id(node.path)
    if station is not None:
        lines.append(f"station     {station}  (c: send a command)")
    lines.append("")
    if node.recent is None:
        lines.append(f"recent messages: {recent_note}")
    elif not node.recent:
        lines.append("recent messages: none")
    else:
        lines.append("recent messages (oldest first; the last one is being or was handled last):")
        lines.extend(f"  {_clock(m.at)}  {m.summary}" for m in node.recent)
    return lines


def _clock(at: str | float) -> str:
    """The time of day of an ISO timestamp (HH:MM:SS.mmm), else the value as given."""
    if isinstance(at, str) and "T" in at:
        return at.split("T", 1)[1][:12]
    return str(at)


# -- station commands ------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandChoice:
    """One entry of the command menu."""

    key: str
    label: str
    needs_connector: bool = False


COMMANDS: tuple[CommandChoice, ...] = (
    CommandChoice("reset-immediate", "Reset (Immediate)"),
    CommandChoice("reset-onidle", "Reset (OnIdle)"),
    CommandChoice("trigger-heartbeat", "TriggerMessage Heartbeat"),
    CommandChoice("trigger-status", "TriggerMessage StatusNotification"),
    CommandChoice("trigger-boot", "TriggerMessage BootNotification"),
    CommandChoice("unlock", "UnlockConnector (evse / connector)", needs_connector=True),
    CommandChoice("available", "ChangeAvailability Operative"),
    CommandChoice("unavailable", "ChangeAvailability Inoperative"),
)


@dataclass(frozen=True)
class StationCommand:
    """A REST call that sends one OCPP request to a station (POST `path` with `body`)."""

    station_id: str
    label: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Human text for the confirmation dialog."""
        return f"{self.label} to station {self.station_id}"


def _suffix(key: str, evse: int, connector: int) -> tuple[str, dict[str, Any], str]:
    """Route suffix, body and label detail of a command key."""
    match key:
        case "reset-immediate" | "reset-onidle":
            kind = "Immediate" if key == "reset-immediate" else "OnIdle"
            return "reset", {"type": kind}, ""
        case "trigger-heartbeat":
            return "trigger/Heartbeat", {}, ""
        case "trigger-status":
            return "trigger/StatusNotification", {}, ""
        case "trigger-boot":
            return "trigger/BootNotification", {}, ""
        case "unlock":
            return f"unlock/{connector}", {"evseId": evse}, f" evse {evse} connector {connector}"
        case "available" | "unavailable":
            status = "Operative" if key == "available" else "Inoperative"
            return "availability", {"operationalStatus": status}, ""
    raise ValueError(f"unknown command {key!r}")


def build_command(key: str, station: str, *, evse: int = 1, connector: int = 1) -> StationCommand:
    """The REST call for menu entry `key` on `station` (evse/connector only for unlock)."""
    if evse < 1 or connector < 1:
        raise ValueError("evse and connector start at 1")
    choice = next((c for c in COMMANDS if c.key == key), None)
    if choice is None:
        raise ValueError(f"unknown command {key!r}")
    suffix, body, detail = _suffix(key, evse, connector)
    path = f"/api/v1/devices/{quote(station, safe='')}/{suffix}"
    return StationCommand(station, choice.label + detail, path, body)


def describe_answer(answer: Any) -> str:
    """The station's answer in one line: its status and reason, else compact JSON."""
    if isinstance(answer, dict) and isinstance(answer.get("status"), str):
        text = str(answer["status"])
        info = answer.get("statusInfo")
        if isinstance(info, dict) and info.get("reasonCode"):
            extra = info.get("additionalInfo")
            text += f" ({info['reasonCode']}{': ' + str(extra) if extra else ''})"
        return text
    encoded: bytes = msgspec.json.encode(answer)
    return encoded.decode()


def describe_problem(status: int, body: Any) -> str:
    """An RFC 9457 problem as `title: detail` (falls back to the HTTP status)."""
    if isinstance(body, dict):
        title = body.get("title") or f"HTTP {status}"
        detail = body.get("detail")
        return f"{title}: {detail}" if detail else str(title)
    return f"HTTP {status}"
