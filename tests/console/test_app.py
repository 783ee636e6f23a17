"""The textual console driven by its test pilot against the fake API on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

from sigec_actors.console.app import ConsoleApp
from sigec_actors.console.client import ConsoleClient, Credentials
from sigec_actors.console.screens import CommandScreen, ConfirmScreen
from tests.console.fake_server import EMAIL, PASSWORD, FakeApi

CP2 = "/node-2/charge-points/CP-002"


async def until(pilot: Pilot[Any], cond: Callable[[], object], limit_s: float = 5.0) -> None:
    """Let the app run until `cond()` holds (fails the test after `limit_s`)."""
    for _ in range(int(limit_s / 0.02)):
        if cond():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


@asynccontextmanager
async def console(fake: FakeApi, **kwargs: Any) -> AsyncIterator[tuple[ConsoleApp, Pilot[Any]]]:
    async with ConsoleClient(fake.url, Credentials(EMAIL, PASSWORD)) as client:
        app = ConsoleApp(client, refresh_s=kwargs.pop("refresh_s", 60), **kwargs)
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.latest is not None)
            yield app, pilot


def _nodes(node: TreeNode[Any]) -> Iterator[TreeNode[Any]]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def shown(app: ConsoleApp) -> list[str]:
    tree: Tree[Any] = app.screen_stack[0].query_one("#tree", Tree)
    return [n.data.path for n in _nodes(tree.root) if n.data is not None]


async def select(app: ConsoleApp, pilot: Pilot[Any], path: str) -> None:
    """Move the cursor down with the keyboard until `path` is highlighted."""
    for _ in range(len(shown(app))):
        if app.selected_path == path:
            return
        await pilot.press("down")
    assert app.selected_path == path


async def test_tree_shows_director_nodes_supervisors_and_actors(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        paths = shown(app)
        assert paths[:3] == ["/director", "/director/node-1", "/node-1"]
        assert len(paths) == 16 and CP2 in paths and "/node-1/v2g/V2G-7f3a" in paths
        assert app.status_text.startswith("16 actors")
        await select(app, pilot, "/node-1/charge-points/CP-001")
        assert "processed   1842" in app.detail_text
        await until(pilot, lambda: "TransactionEvent Updated seqNo 41" in app.detail_text)
        assert "14:03:21.480  StationCall TransactionEvent" in app.detail_text
        assert ("detail", "/node-1/charge-points/CP-001", None) in fake.calls


async def test_detail_says_when_recent_messages_are_none_or_unavailable(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        fake.gone.add("/node-2/charge-points/RJ-0007")
        await select(app, pilot, CP2)
        await until(pilot, lambda: "recent messages: none" in app.detail_text)
        await select(app, pilot, "/node-2/charge-points/RJ-0007")
        await until(pilot, lambda: "recent messages: unavailable (gone (404" in app.detail_text)


async def test_filter_narrows_to_one_station(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        await pilot.press("slash", *"rj-0007")
        assert app.query_one("#filter", Input).value == "rj-0007"
        assert shown(app) == ["/director", "/director/node-2", "/node-2",
                              "/node-2/charge-points", "/node-2/charge-points/RJ-0007"]
        assert not isinstance(app.screen, ConfirmScreen)  # the r was typed, not an action
        await pilot.press("enter", "end")
        assert app.selected_path == "/node-2/charge-points/RJ-0007"
        await pilot.press("slash", *"x")
        assert "no actor matches" in str(app.query_one("#tree", Tree).root.label)


async def test_restart_after_confirmation_posts_the_path(fake: FakeApi) -> None:
    async with console(fake, text_filter="CP-002") as (app, pilot):
        await pilot.press("end")
        assert app.selected_path == CP2
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, fake.actions)
        assert fake.actions() == [("restart", CP2, None)]
        await until(pilot, lambda: app.message_text == f"restart {CP2}: done")


async def test_declined_stop_sends_nothing(fake: FakeApi) -> None:
    async with console(fake, text_filter="/node-1/v2g") as (app, pilot):
        await pilot.press("end", "up")
        assert app.selected_path == "/node-1/v2g"
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: "cancelled" in app.message_text)
        assert fake.actions() == []
        await pilot.press("s", "y")
        await until(pilot, lambda: fake.actions() == [("stop", "/node-1/v2g", None)])


async def test_command_reset_is_posted_and_the_answer_shown(fake: FakeApi) -> None:
    fake.answers["reset"] = {"status": "Scheduled"}
    async with console(fake, text_filter="cp-002") as (app, pilot):
        await pilot.press("end")
        assert app.selected_path == CP2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CommandScreen))
        await pilot.press("enter")  # the first entry: Reset (Immediate)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, fake.actions)
        assert fake.actions() == [("command", "CP-002/reset", {"type": "Immediate"})]
        await until(pilot, lambda: app.message_text == "CP-002: Reset (Immediate) -> Scheduled")


async def test_unlock_takes_evse_and_connector(fake: FakeApi) -> None:
    async with console(fake, text_filter="cp-002") as (app, pilot):
        await pilot.press("end")
        assert app.selected_path == CP2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CommandScreen))
        app.screen.query_one("#connector", Input).value = "2"
        await pilot.press(*["down"] * 5, "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: fake.actions() == [
            ("command", "CP-002/unlock/2", {"evseId": 1})])


async def test_station_error_is_shown_in_the_status_bar(fake: FakeApi) -> None:
    async with console(fake, text_filter="cp-002") as (app, pilot):
        fake.fail_with = (409, "Station offline", "CP-002 is not connected")
        await pilot.press("end")
        assert app.selected_path == CP2
        await pilot.press("c", "down", "down", "enter", "y")
        await until(pilot, lambda: "failed" in app.message_text)
        assert app.message_text == ("TriggerMessage Heartbeat on CP-002 failed: "
                                    "409 Station offline: CP-002 is not connected")
        assert fake.actions() == [("command", "CP-002/trigger/Heartbeat", {})]


async def test_command_needs_a_charge_point(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        await pilot.press("c")
        await until(pilot, lambda: "select a charge point" in app.message_text)
        assert not isinstance(app.screen, CommandScreen)


async def test_gone_actor_is_reported_and_the_cursor_moves_up(fake: FakeApi) -> None:
    async with console(fake, text_filter="node-2/charge") as (app, pilot):
        await select(app, pilot, CP2)
        charge_points = fake.snapshot["children"][1]["children"][0]["children"][0]
        charge_points["children"] = []
        await pilot.press("r", "y")
        await until(pilot, lambda: "failed" in app.message_text)
        assert app.message_text == f"restart {CP2} failed: gone (404: no actor at {CP2})"
        await pilot.press("g")
        await until(pilot, lambda: CP2 not in shown(app))
        assert app.selected_path == "/node-2/charge-points"


async def test_refresh_errors_and_expired_tokens_do_not_stop_the_app(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        fake.fail_with = (503, "Service Unavailable", "actor system not started")
        await pilot.press("g")
        await until(pilot, lambda: "refresh failed" in app.status_text)
        assert "503 Service Unavailable: actor system not started" in app.status_text
        fake.fail_with = None
        fake.expire_tokens(refresh_too=True)
        await pilot.press("g")
        await until(pilot, lambda: app.status_text.startswith("16 actors"))
        assert fake.logins == 2 and app.is_running


async def test_periodic_refresh_relabels_in_place(fake: FakeApi) -> None:
    async with console(fake, refresh_s=0.2, text_filter="cp-001") as (app, pilot):
        await pilot.press("end")
        assert app.selected_path == "/node-1/charge-points/CP-001"
        cp = fake.snapshot["children"][0]["children"][0]["children"][0]["children"][0]
        cp["processed"] = 1900
        await until(pilot, lambda: "processed   1900" in app.detail_text)
        assert app.selected_path == "/node-1/charge-points/CP-001"


async def test_refresh_behind_a_modal_and_a_late_answer_do_not_crash(fake: FakeApi) -> None:
    async with console(fake, refresh_s=0.1, text_filter="cp-002") as (app, pilot):
        await pilot.press("end", "r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        fake.snapshot["children"][1]["state"] = "unresponsive"
        await until(pilot, lambda: "unresponsive" in str(
            app.screen_stack[0].query_one("#tree", Tree).root.children[0].label))
        app.show_message("written while the dialog is open")
        await pilot.press("n")
        await until(pilot, lambda: app.message_text == f"restart {CP2}: cancelled")
        assert app.is_running and fake.actions() == []


async def test_big_supervisors_are_capped_and_the_placeholder_is_inert(fake: FakeApi) -> None:
    async with console(fake, text_filter="node-1/charge", max_children=1) as (app, pilot):
        assert shown(app)[-1] == "/node-1/charge-points/+1 more"
        await pilot.press("end", "r")
        await until(pilot, lambda: app.message_text == "select an actor first")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("slash", *"-0042")
        assert shown(app)[-1] == "/node-1/charge-points/BR-SP-0042"


async def test_q_quits(fake: FakeApi) -> None:
    async with console(fake) as (app, pilot):
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
