"""Issue #14 item 12: POST /transactions/start refuses up front, with the authorizer's reason,
a user who could not charge (NoCredit, blocked token, a session already running); the station
is then never asked (no RequestStartTransaction)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from api.testing import FakeCommander
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import IdTokenStatus, IdTokenType
from sigec_actors.ocpp.generated import v201
from sigec_actors.testing import (
    FakeClock,
)
from tests.api.harness import (
    Api,
    Clock,
)
from tests.transactions.builders import E, World, event, world
from tests.transactions.rest import start_tx_api

MIN_BALANCE = 500
START = "/api/v1/transactions/start"


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, World]]:
    clock = Clock()
    w = world(min_balance=MIN_BALANCE, clock=FakeClock(start=clock.now))
    a = await start_tx_api(w, clock, FakeCommander(online={"CP-1"}))
    yield a, w
    await a.close()


async def _fund(w: World, user: str, centavos: int) -> None:
    wallet = await w.ledger.account(AccountKind.USER_WALLET, uuid.UUID(user))
    psp = await w.ledger.account(AccountKind.PSP_CLEARING)
    await w.ledger.post(NewJournalEntry("test_topup", uuid.uuid4().hex, (
        PostingIn(wallet.id, centavos), PostingIn(psp.id, -centavos))))


def _starts(a: Api) -> list[v201.RequestStartTransactionRequest]:
    return [r for _, r in a.commander.sent if isinstance(r, v201.RequestStartTransactionRequest)]


async def test_a_user_who_cannot_pay_is_refused_before_the_station_is_asked(
        api: tuple[Api, World]) -> None:
    a, w = api
    body = {"chargePointId": "CP-1", "evseId": 1}
    refused = await a.json("POST", START, "user", 402, json=body)
    assert refused["reason"] == "NoCredit" and refused["status"] == 402
    assert _starts(a) == []
    await _fund(w, a.ids["user"], MIN_BALANCE)
    started = await a.json("POST", START, "user", json=body)
    assert started["accepted"] is True and len(_starts(a)) == 1


async def test_a_running_session_or_a_blocked_token_is_refused_with_its_reason(
        api: tuple[Api, World]) -> None:
    a, w = api
    await _fund(w, a.ids["user"], 10_000)
    await a.json("POST", START, "user", json={"chargePointId": "CP-1"})
    (sent,) = _starts(a)
    # the station starts it with the app token: a second start is a concurrent session
    await w.service.handle_event("CP-1", msgspec.structs.replace(
        event(E.STARTED, 0, w.clock.now(), tx="tx-app", wh=0), id_token=sent.id_token),
        w.clock.now())
    busy = await a.json("POST", START, "user", 409, json={"chargePointId": "CP-1"})
    assert busy["reason"] == "ConcurrentTx" and len(_starts(a)) == 1
    (app,) = [t for t in await w.tokens.list_for_user(uuid.UUID(a.ids["user"]))
              if t.type is IdTokenType.CENTRAL]
    await w.tokens.set_status(app.id, IdTokenStatus.BLOCKED)
    blocked = await a.json("POST", START, "user", 409, json={"chargePointId": "CP-1"})
    assert blocked["reason"] == "Blocked" and len(_starts(a)) == 1
