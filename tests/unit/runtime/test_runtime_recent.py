"""Recent messages per actor: a bounded ring, kept across restarts, summarised on request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest

from sigec_actors.runtime import (
    Actor,
    ActorDetail,
    ActorNotFound,
    ChildSpec,
    Supervisor,
)
from sigec_actors.runtime.recent import SUMMARY_CHARS, summarize
from sigec_actors.testing import FakeClock, advance, running_system, settle


class Login(msgspec.Struct, frozen=True):
    email: str
    password: str
    headers: dict[str, str] = {}


class Note(msgspec.Struct, frozen=True):
    text: str
    payload: msgspec.Raw = msgspec.Raw(b"null")
    at: datetime | None = None
    owner: object = None


class Recorder(Actor[Any]):
    async def receive(self, msg: Any) -> Any:
        if msg == "crash":
            raise RuntimeError("bad message")
        return msg

    def state_summary(self) -> str:
        return "ok"


def tree() -> ChildSpec:
    return ChildSpec("node-1", lambda: Supervisor([ChildSpec("rec", Recorder, kind="Rec")]),
                     shutdown_timeout_s=None)


async def test_detail_lists_the_last_messages_oldest_first_bounded() -> None:
    clock = FakeClock()
    async with running_system(tree(), clock=clock, recent_messages=3) as (system, _):
        ref = system.lookup("/node-1/rec")
        for i in range(5):
            await ref.ask(f"m{i}")
            await advance(clock, system, 2.0)
        detail = system.detail("/node-1/rec")
    assert isinstance(detail, ActorDetail)
    assert [m.summary for m in detail.recent] == ['str "m2"', 'str "m3"', 'str "m4"']
    assert [m.age_s for m in detail.recent] == [6.0, 4.0, 2.0]
    assert {m.direction for m in detail.recent} == {"in"}
    assert (detail.path, detail.kind, detail.state, detail.processed) == (
        "/node-1/rec", "Rec", "ok", 5)
    assert detail.node == "test"


async def test_timestamps_are_wall_time_of_the_injected_clock() -> None:
    clock = FakeClock()
    async with running_system(tree(), clock=clock) as (system, _):
        await system.lookup("/node-1/rec").ask("hello")
        taken = clock.now()
        await advance(clock, system, 1.5)
        [entry] = system.detail("/node-1/rec").recent
    assert datetime.fromisoformat(entry.at) == taken.replace(
        microsecond=taken.microsecond // 1000 * 1000)
    assert entry.age_s == 1.5
    assert entry.kind == "str"


async def test_the_message_that_crashed_an_actor_is_the_last_one_after_its_restart() -> None:
    async with running_system(tree()) as (system, _):
        ref = system.lookup("/node-1/rec")
        await ref.ask("before")
        ref.tell("crash")
        await settle(system)
        detail = system.detail("/node-1/rec")
    assert detail.restarts == 1
    assert detail.last_error == "RuntimeError: bad message"
    assert [m.summary for m in detail.recent] == ['str "before"', 'str "crash"']


async def test_zero_keeps_nothing() -> None:
    async with running_system(tree(), recent_messages=0) as (system, _):
        await system.lookup("/node-1/rec").ask("x")
        assert system.detail("/node-1/rec").recent == []


async def test_supervisors_record_their_control_messages() -> None:
    async with running_system(tree()) as (system, _):
        system.lookup("/node-1/rec").tell("crash")
        await settle(system)
        kinds = [m.kind for m in system.detail("/node-1").recent]
    assert "ChildExited" in kinds


async def test_unknown_path_is_not_found() -> None:
    async with running_system(tree()) as (system, _):
        with pytest.raises(ActorNotFound):
            system.detail("/node-1/nobody")


async def test_detail_names_children_by_key_and_encodes_to_camel_json() -> None:
    async with running_system(tree()) as (system, _):
        detail = system.detail("/node-1")
    data = msgspec.json.decode(msgspec.json.encode(detail))
    assert data["childKeys"] == ["rec"]
    assert set(data) >= {"path", "kind", "state", "mailboxDepth", "recent", "lastError"}


def test_summary_masks_secret_fields_at_any_depth() -> None:
    text = summarize(Login("op@example.com", "hunter2",
                           {"Authorization": "Bearer abc", "Accept": "json"}))
    assert "hunter2" not in text and "Bearer abc" not in text
    assert text == ('Login {"email":"op@example.com","password":"***",'
                    '"headers":{"Authorization":"***","Accept":"json"}}')


def test_summary_decodes_raw_json_and_names_opaque_objects() -> None:
    at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    text = summarize(Note("hi", msgspec.Raw(b'{"status":"Accepted","privateKey":"k"}'), at,
                          object()))
    assert text == ('Note {"text":"hi","payload":{"status":"Accepted","privateKey":"***"},'
                    '"at":"2026-11-29 12:00:00+00:00","owner":"<object>"}')
    assert summarize(UUID(int=1)) == "UUID"


def test_summary_is_one_bounded_line() -> None:
    text = summarize(Note("x" * 1000))
    assert len(text) == SUMMARY_CHARS and text.endswith("…")
