"""TransactionService and Authorizer on in-memory fakes: answers, billing once, credit, errors."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import IdTokenStatus, IdTokenType
from sigec_actors.domain.transactions import TxStatus
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as A
from sigec_actors.ocpp.generated.v201 import AuthorizeRequest, IdToken, IdTokenEnum
from sigec_actors.transactions.billing import SOURCE_TYPE, SettlementKind
from sigec_actors.transactions.errors import TransactionStoreUnavailable
from sigec_actors.transactions.service import TransactionService, cost_updated
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, World, event, session, world

USER = uuid.uuid4()


async def fund(w: World, user: uuid.UUID, centavos: int) -> None:
    wallet = await w.ledger.account(AccountKind.USER_WALLET, user)
    psp = await w.ledger.account(AccountKind.PSP_CLEARING)
    await w.ledger.post(NewJournalEntry("test_topup", str(uuid.uuid4()), (
        PostingIn(wallet.id, centavos), PostingIn(psp.id, -centavos))))


async def balances(w: World, user: uuid.UUID) -> tuple[int, int]:
    wallet = await w.ledger.account(AccountKind.USER_WALLET, user)
    debt = await w.ledger.account(AccountKind.USER_RECEIVABLE, user)
    return await w.ledger.balance(wallet.id), await w.ledger.balance(debt.id)


async def run(w: World, reqs: list, station: str = "CP1") -> list[Any]:
    return [await w.service.handle_event(station, r, T0) for r in reqs]


async def test_session_is_answered_stored_and_billed_once() -> None:
    w = world(Tariff(price_per_kwh_centavos=150, session_fee_centavos=100))
    await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    await fund(w, USER, 10_000)
    answers = await run(w, session(kwh=10))
    assert answers[0].id_token_info.status is A.ACCEPTED
    assert answers[-1].total_cost == 16.0  # 10 kWh x R$1.50 + R$1.00 fee
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ENDED and tx.user_id == USER
    assert tx.cost_centavos == 1_600 and tx.energy_wh == 10_000
    assert await balances(w, USER) == (8_400, 0)
    # the same Ended again, and a second (different seqNo) Ended: nothing moves
    again = await w.service.handle_event("CP1", session(kwh=10)[-1], T0)
    assert again == answers[-1]
    await w.service.handle_event("CP1", event(E.ENDED, 9, T0 + timedelta(hours=3),
                                              wh=99_000), T0)
    assert await balances(w, USER) == (8_400, 0)
    assert w.service.last_settlement is not None and not w.service.last_settlement.created
    subjects = [m.subject for _, m in w.store.outbox.messages]
    assert subjects.count("transaction.started") == 1
    assert subjects.count("transaction.completed") == 1


async def test_short_wallet_pays_what_it_has_and_the_rest_is_receivable() -> None:
    w = world(Tariff(price_per_kwh_centavos=100))
    await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    await fund(w, USER, 300)
    await run(w, session(kwh=10))
    assert await balances(w, USER) == (0, -700)
    assert w.service.last_settlement is not None
    assert w.service.last_settlement.receivable_centavos == 700


async def test_no_credit_when_wallet_minus_debt_is_below_minimum() -> None:
    w = world(min_balance=500)
    await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    await fund(w, USER, 499)
    info = await w.authorizer.authorize("CP1", IdToken(id_token="CARD-1",
                                                       type=IdTokenEnum.ISO14443))
    assert info.status is A.NO_CREDIT
    await fund(w, USER, 1)
    info = await w.authorizer.authorize("CP1", IdToken(id_token="CARD-1",
                                                       type=IdTokenEnum.ISO14443))
    assert info.status is A.ACCEPTED and info.cache_expiry_date_time is not None


async def test_authorize_statuses() -> None:
    w = world()
    tok = lambda t: AuthorizeRequest(id_token=IdToken(id_token=t, type=IdTokenEnum.ISO14443))  # noqa: E731
    await w.tokens.add(USER, "OK", IdTokenType.ISO14443)
    await w.tokens.add(USER, "BLK", IdTokenType.ISO14443, status=IdTokenStatus.BLOCKED)
    await w.tokens.add(USER, "OLD", IdTokenType.ISO14443, expires_at=T0 - timedelta(seconds=1))
    await w.tokens.add(USER, "INV", IdTokenType.ISO14443, status=IdTokenStatus.INVALID)
    got = {t: (await w.authorizer.handle_authorize("CP1", tok(t))).id_token_info.status
           for t in ("OK", "BLK", "OLD", "INV", "NOPE")}
    assert got == {"OK": A.ACCEPTED, "BLK": A.BLOCKED, "OLD": A.EXPIRED, "INV": A.INVALID,
                   "NOPE": A.UNKNOWN}
    free = IdToken(id_token="", type=IdTokenEnum.NO_AUTHORIZATION)
    assert (await w.authorizer.authorize("CP1", free)).status is A.ACCEPTED


async def test_concurrent_transaction_with_the_same_token() -> None:
    w = world()
    await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    await run(w, session()[:2], station="CP1")
    # its own transaction's later events are not "concurrent"
    own = event(E.UPDATED, 2, T0 + timedelta(minutes=1), token="CARD-1")
    own_answer = await w.service.handle_event("CP1", own, T0)
    assert own_answer.id_token_info is not None
    assert own_answer.id_token_info.status is A.ACCEPTED
    other = event(E.STARTED, 0, T0, tx="tx-2", wh=0, token="CARD-1")
    answer = await w.service.handle_event("CP2", other, T0)
    assert answer.id_token_info is not None and answer.id_token_info.status is A.CONCURRENT_TX


async def test_cache_never_outlives_a_block() -> None:
    w = world()
    tok = await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    card = IdToken(id_token="CARD-1", type=IdTokenEnum.ISO14443)
    assert (await w.authorizer.authorize("CP1", card)).status is A.ACCEPTED
    assert len(w.authorizer.cache) == 1
    await w.tokens.set_status(tok.id, IdTokenStatus.BLOCKED)
    assert (await w.authorizer.authorize("CP1", card)).status is A.BLOCKED
    assert len(w.authorizer.cache) == 0
    await w.tokens.set_status(tok.id, IdTokenStatus.ACCEPTED)
    assert (await w.authorizer.authorize("CP1", card)).status is A.ACCEPTED
    await w.tokens.remove(USER, tok.id)
    assert (await w.authorizer.authorize("CP1", card)).status is A.UNKNOWN


async def test_unknown_token_transaction_is_stored_but_not_billed() -> None:
    w = world()
    answers = await run(w, session(token="STRANGER"))
    assert answers[0].id_token_info.status is A.UNKNOWN
    assert w.service.last_settlement is not None
    assert w.service.last_settlement.kind is SettlementKind.NO_USER


async def test_gap_holds_billing_until_the_missing_event_arrives() -> None:
    w = world()
    await w.tokens.add(USER, "CARD-1", IdTokenType.ISO14443)
    await fund(w, USER, 10_000)
    reqs = session(updates=3)
    await run(w, [r for r in reqs if r.seq_no != 2])
    assert w.service.last_settlement is not None
    assert w.service.last_settlement.kind is SettlementKind.HELD_INCOMPLETE
    assert await w.ledger.entry_by_source(SOURCE_TYPE, "CP1/tx-1") is None
    await run(w, [reqs[2]])
    assert w.service.last_settlement.kind is SettlementKind.POSTED
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and not tx.seq_gap
    assert await w.billing.settle_unbilled(w.queries) == []


async def test_cost_updated_request() -> None:
    w = world()
    await run(w, session()[:2])
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None
    req = cost_updated(tx)
    assert req.transaction_id == "tx-1" and req.total_cost == tx.cost_centavos / 100


class _DeadStore:
    def __init__(self, hang: bool) -> None:
        self.hang = hang

    async def find(self, *_: Any) -> None:
        if self.hang:
            await asyncio.sleep(3600)
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.parametrize("hang", [False, True])
async def test_store_failure_raises_typed_error_quickly(hang: bool) -> None:
    w = world()
    service = TransactionService(_DeadStore(hang), w.tariffs, w.authorizer,  # type: ignore[arg-type]
                                 w.billing, default_tariff=Tariff(), clock=lambda: T0,
                                 timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(TransactionStoreUnavailable) as err:
        await service.handle_event("CP1", session()[0], T0)
    assert time.monotonic() - started < 1.0
    assert (err.value.station_id, err.value.transaction_id, err.value.seq_no) == ("CP1", "tx-1", 0)
