"""On PostgreSQL: the one-query token check (PgTokenFacts) decides as the four-query one."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sigec_actors.adapters.pg_token_facts import PgTokenFacts
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import IdTokenStatus, IdTokenType
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as A
from sigec_actors.ports import DbPool
from sigec_actors.transactions.authorize import AuthCache, Authorizer
from tests.transactions.builders import T0, session
from tests.transactions.conftest import PgWorld, new_station, new_user, pg_world

pytestmark = pytest.mark.pg


def _pair(w: PgWorld, pool: DbPool) -> tuple[Authorizer, Authorizer]:
    """(four queries, no cache hits; one batched query), both with a minimum of R$5."""
    args = (w.tokens, w.ledger, w.queries)
    return (Authorizer(*args, clock=lambda: T0, min_balance_centavos=500,
                       cache=AuthCache(ttl_s=0)),
            Authorizer(*args, clock=lambda: T0, min_balance_centavos=500,
                       reads=PgTokenFacts(pool)))


async def _owe(w: PgWorld, user: uuid.UUID, centavos: int) -> None:
    debt = await w.ledger.account(AccountKind.USER_RECEIVABLE, user)
    revenue = await w.ledger.account(AccountKind.PLATFORM_REVENUE)
    await w.ledger.post(NewJournalEntry("test_debt", uuid.uuid4().hex, (
        PostingIn(debt.id, -centavos), PostingIn(revenue.id, centavos))))


async def test_every_status_matches_the_four_query_check(pool: DbPool) -> None:
    w = pg_world(pool, token_facts=False)
    station = await new_station(pool)
    rich, poor, owing, busy, blocked = [await new_user(pool) for _ in range(5)]
    tag = uuid.uuid4().hex[:6]
    for user, name, funds in ((rich, "RICH", 1_000), (poor, "POOR", 100),
                              (owing, "OWING", 1_000), (busy, "BUSY", 1_000),
                              (blocked, "BLOCKED", 1_000)):
        await w.tokens.add(user, f"{name}-{tag}", IdTokenType.ISO14443)
        await w.fund(user, funds)
    await _owe(w, owing, 800)
    token = await w.tokens.find(f"BLOCKED-{tag}", IdTokenType.ISO14443)
    assert token is not None
    await w.tokens.set_status(token.id, IdTokenStatus.BLOCKED)
    await w.service.handle_event(station, session(tx="busy", token=f"BUSY-{tag}")[0], T0)
    plain, batched = _pair(w, pool)
    cases = [(f"RICH-{tag}", None, A.ACCEPTED), (f"POOR-{tag}", None, A.NO_CREDIT),
             (f"OWING-{tag}", None, A.NO_CREDIT), (f"BUSY-{tag}", None, A.CONCURRENT_TX),
             (f"BUSY-{tag}", (station, "busy"), A.ACCEPTED),
             (f"BLOCKED-{tag}", None, A.BLOCKED), (f"NOBODY-{tag}", None, A.UNKNOWN)]
    for card, scope, status in cases:
        want = await plain.check(card, "ISO14443", T0, exclude=scope)
        assert want.status is status, card
    got = await asyncio.gather(*(batched.check(card, "ISO14443", T0, exclude=scope)
                                 for card, scope, _ in cases))  # one batch
    assert [g.status for g in got] == [status for _, _, status in cases]
    assert [g.user_id for g in got] == [rich, poor, owing, busy, busy, blocked, None]
