"""tree.py: decoding, walking, filtering, cursor placement, rendering and station commands."""

from __future__ import annotations

import msgspec
import pytest

from sigec_actors.console import tree as t
from sigec_actors.runtime.snapshot import ActorSnapshot
from tests.console.fake_server import RECENT, cluster_snapshot


@pytest.fixture
def root() -> t.ActorNode:
    return t.decode_snapshot(msgspec.json.encode(cluster_snapshot()))


def test_decodes_the_runtime_snapshot_shape() -> None:
    leaf = ActorSnapshot("/n/charge-points/CP-1", "ChargePoint", "booted", 2, 5, 1, 1.5,
                         "RuntimeError: boom", [])
    node = t.decode_snapshot(msgspec.json.encode(
        ActorSnapshot("/n", "NodeSupervisor", "ok", 0, 0, 0, 9.0, None, [leaf])))
    got = node.children[0]
    assert (got.path, got.mailbox_depth, got.processed, got.restarts, got.uptime_s) == (
        "/n/charge-points/CP-1", 2, 5, 1, 1.5)
    assert got.last_error == "RuntimeError: boom" and got.recent is None


def test_unknown_keys_are_ignored_and_a_detail_decodes(root: t.ActorNode) -> None:
    director = root
    assert director.pid == 4201 and director.host == "csms-a"
    detail = t.decode_detail(msgspec.json.encode(
        {"path": "/node-1/charge-points/CP-001", "kind": "ChargePoint", "childKeys": [],
         "node": "node-1", "recent": RECENT, "futureKey": 1}))
    assert detail.recent is not None and detail.child_keys == () and detail.node == "node-1"
    assert [(m.kind, m.age_s) for m in detail.recent] == [("StationCall", 15.2),
                                                          ("StationCall", 0.8)]


def test_a_foreign_document_is_a_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        t.decode_snapshot(b'{"items": []}')


def test_walk_is_pre_order_with_depths(root: t.ActorNode) -> None:
    rows = [(depth, node.path) for depth, node in t.walk(root)]
    assert rows[:4] == [(0, "/director"), (1, "/director/node-1"), (2, "/node-1"),
                        (3, "/node-1/charge-points")]
    assert (4, "/node-1/charge-points/CP-001") in rows
    assert len(rows) == 16


def test_filter_keeps_matches_with_ancestors_only(root: t.ActorNode) -> None:
    shown = t.filter_tree(root, "cp-002")
    assert t.structure(shown) == ("/director", "/director/node-2", "/node-2",
                                  "/node-2/charge-points", "/node-2/charge-points/CP-002")


def test_filter_keeps_the_subtree_of_a_matching_supervisor(root: t.ActorNode) -> None:
    paths = t.structure(t.filter_tree(root, "/node-2/charge-points"))
    assert "/node-2/charge-points/RJ-0007" in paths and "/node-1" not in paths


@pytest.mark.parametrize("text", ["", "  ", "director"])
def test_empty_or_root_filter_keeps_everything(root: t.ActorNode, text: str) -> None:
    assert t.filter_tree(root, text) is root


def test_filter_without_match_is_none(root: t.ActorNode) -> None:
    assert t.filter_tree(root, "nope") is None
    assert t.structure(None) == ()
    assert "no actor matches" in t.render_text(None)


def test_limit_children_leaves_a_placeholder(root: t.ActorNode) -> None:
    assert t.limit_children(root, 10) is root
    capped = t.limit_children(root, 1)
    cps = t.find(capped, "/node-1/charge-points")
    assert cps is not None
    assert [c.path for c in cps.children] == ["/node-1/charge-points/CP-001",
                                              "/node-1/charge-points/+1 more"]
    more = cps.children[1]
    assert more.kind == "more" and t.label(more).startswith("+1 more  (type a station id")
    assert t.find(root, more.path) is None


def test_visible_paths_skip_collapsed_subtrees(root: t.ActorNode) -> None:
    lines = t.visible_paths(root, {"/director/node-1"})
    assert lines[:3] == ["/director", "/director/node-1", "/director/node-2"]
    assert "/node-1/charge-points/CP-001" not in lines


def test_cursor_follows_the_path_or_its_nearest_ancestor() -> None:
    lines = ["/d", "/n", "/n/charge-points", "/n/charge-points/A"]
    assert t.cursor_line(lines, "/n/charge-points/A") == 3
    assert t.cursor_line(lines, "/n/charge-points/GONE") == 2
    assert t.cursor_line(lines, "/other/x") == 0
    assert t.cursor_line(lines, None) == 0


@pytest.mark.parametrize(("path", "station"), [
    ("/node-1/charge-points/CP-001", "CP-001"),
    ("/director/node-1/charge-points/BR-SP-0042", "BR-SP-0042"),
    ("/node-1/charge-points", None),
    ("/node-1/v2g/V2G-1", None),
    ("/node-1/charge-points/CP-1/extra", None),
])
def test_station_id_only_for_charge_point_actors(path: str, station: str | None) -> None:
    assert t.station_id(path) == station


@pytest.mark.parametrize(("seconds", "text"), [
    (4.25, "4.2s"), (59.9, "59.9s"), (723, "12m03s"), (3725.5, "1h02m"), (273600, "3d04h")])
def test_format_uptime(seconds: float, text: str) -> None:
    assert t.format_uptime(seconds) == text


def test_render_text_indents_and_shows_every_field(root: t.ActorNode) -> None:
    text = t.render_text(t.filter_tree(root, "BR-SP"))
    lines = text.splitlines()
    assert lines[0].startswith("/director  CsmsDirector  state='running'")
    last = lines[-1]
    assert last.startswith("        /node-1/charge-points/BR-SP-0042  ChargePoint  ")
    for part in ("mailbox=0", "processed=96", "restarts=1", "uptime=5m12s",
                 "lastError=KeyError: 'evseId'"):
        assert part in last
    assert "lastError=-" in lines[0]


def test_label_marks_errors_and_uses_the_last_segment(root: t.ActorNode) -> None:
    node = t.find(root, "/node-1/charge-points/BR-SP-0042")
    assert node is not None
    text = t.label(node)
    assert text == ("BR-SP-0042  ChargePoint  mbox 0  restarts 1  ! error  "
                    "· accepted, session 3, in flight -, queued 0")
    assert t.label(root, full_path=True).startswith("/director  CsmsDirector")


def test_detail_lines_show_recent_messages_or_say_they_are_missing(root: t.ActorNode) -> None:
    cp = t.find(root, "/node-1/charge-points/CP-001")
    assert cp is not None
    recent = msgspec.convert(RECENT, tuple[t.RecentMessage, ...])
    text = "\n".join(t.detail_lines(msgspec.structs.replace(cp, recent=recent)))
    assert "mailbox     1" in text and "station     CP-001" in text
    assert "  14:03:21.480  StationCall TransactionEvent Updated seqNo 41" in text
    text = "\n".join(t.detail_lines(root, recent_note="unavailable (timeout)"))
    assert "recent messages: unavailable (timeout)" in text and "pid 4201 on csms-a" in text
    assert "children    2" in text
    empty = msgspec.structs.replace(root, recent=())
    assert "recent messages: none" in t.detail_lines(empty)


@pytest.mark.parametrize(("key", "path", "body"), [
    ("reset-immediate", "reset", {"type": "Immediate"}),
    ("reset-onidle", "reset", {"type": "OnIdle"}),
    ("trigger-heartbeat", "trigger/Heartbeat", {}),
    ("trigger-status", "trigger/StatusNotification", {}),
    ("trigger-boot", "trigger/BootNotification", {}),
    ("unlock", "unlock/3", {"evseId": 2}),
    ("available", "availability", {"operationalStatus": "Operative"}),
    ("unavailable", "availability", {"operationalStatus": "Inoperative"}),
])
def test_build_command(key: str, path: str, body: dict[str, object]) -> None:
    cmd = t.build_command(key, "CP 1/x", evse=2, connector=3)
    assert cmd.path == f"/api/v1/devices/CP%201%2Fx/{path}"
    assert cmd.body == body and cmd.station_id == "CP 1/x"


def test_every_menu_entry_builds() -> None:
    assert {t.build_command(c.key, "CP").label for c in t.COMMANDS} == {
        c.label for c in t.COMMANDS if not c.needs_connector} | {
        "UnlockConnector (evse / connector) evse 1 connector 1"}


def test_build_command_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown"):
        t.build_command("format-disk", "CP")
    with pytest.raises(ValueError, match="start at 1"):
        t.build_command("unlock", "CP", connector=0)


def test_describe_answer_and_problem() -> None:
    assert t.describe_answer({"status": "Accepted"}) == "Accepted"
    assert t.describe_answer({"status": "Rejected", "statusInfo": {
        "reasonCode": "Busy", "additionalInfo": "charging"}}) == "Rejected (Busy: charging)"
    assert t.describe_answer([1]) == "[1]"
    assert t.describe_problem(409, {"title": "Station offline", "detail": "CP-9"}) == \
        "Station offline: CP-9"
    assert t.describe_problem(404, {"title": "Not Found"}) == "Not Found"
    assert t.describe_problem(502, None) == "HTTP 502"
