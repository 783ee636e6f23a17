"""R2 on PostgreSQL, through the guarded batched writes and batched billing: events delivered in
any order, some twice, several at once and by two nodes, end in the clean stream's state and
bill, and every delivery of a seqNo gets the first answer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from sigec_actors.adapters.pg import create_pool
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import TransactionState
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest, TransactionEventResponse
from sigec_actors.transactions.billing import SOURCE_TYPE
from tests.transactions.builders import T0, world
from tests.transactions.conftest import PgWorld, new_station, new_user, pg_world
from tests.transactions.test_service import fund
from tests.transactions.test_stateful import TARIFF, posted, sessions

Delivery = tuple[int, TransactionEventRequest]  # (node, request)
_FIELDS = [f for f in TransactionState.__struct_fields__ if f not in ("user_id", "tariff_id")]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[list[TransactionEventRequest]],
                                         list[list[Delivery]], list[int]]:
    """Sessions, then waves of concurrent deliveries (each by node 0 or 1), and wallets."""
    n = draw(st.integers(1, 3))
    streams = [draw(sessions(f"tx-{i}", f"CARD-{i}")) for i in range(n)]
    events = [r for s in streams for r in s]
    order = draw(st.permutations(events))
    again = draw(st.lists(st.sampled_from(events), max_size=4))
    for req in again:  # a duplicate somewhere after (or beside) the first delivery
        order.insert(draw(st.integers(order.index(req), len(order))), req)
    waves, i = [], 0
    while i < len(order):
        size = draw(st.integers(1, 4))
        waves.append([(draw(st.integers(0, 1)), r) for r in order[i:i + size]])
        i += size
    return streams, waves, [draw(st.integers(0, 5_000)) for _ in streams]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_messy_concurrent_delivery_on_postgres_matches_the_clean_stream(
        migrated_pg_dsn: str, case: Any) -> None:
    asyncio.run(_check(migrated_pg_dsn, *case))


def _retagged(req: TransactionEventRequest, tag: str) -> TransactionEventRequest:
    """The request with its card renamed: id tokens are unique across the whole database."""
    if req.id_token is None:
        return req
    token = replace(req.id_token, id_token=f"{req.id_token.id_token}-{tag}")
    return replace(req, id_token=token)


async def _check(dsn: str, streams: list[list[TransactionEventRequest]],
                 waves: list[list[Delivery]], wallets: list[int]) -> None:
    tag = uuid.uuid4().hex[:8]
    streams = [[_retagged(r, tag) for r in s] for s in streams]
    waves = [[(n, _retagged(r, tag)) for n, r in wave] for wave in waves]
    pool = await create_pool(dsn, min_size=1, max_size=8)
    nodes = [pg_world(pool, tariff=TARIFF, attempts=20) for _ in range(2)]
    try:
        clean, station = world(TARIFF), await new_station(pool)
        users = []
        for i, funds in enumerate(wallets):
            user = await new_user(pool)
            users.append(user)
            await nodes[0].tokens.add(user, f"CARD-{i}-{tag}", IdTokenType.ISO14443)
            await clean.tokens.add(user, f"CARD-{i}-{tag}", IdTokenType.ISO14443)
            if funds:
                await nodes[0].fund(user, funds)
                await fund(clean, user, funds)
        for stream in streams:
            for req in stream:
                await clean.service.handle_event("CP1", req, T0)
        answers: dict[tuple[str, int], list[TransactionEventResponse]] = {}
        for wave in waves:
            got = await asyncio.gather(*(nodes[n].service.handle_event(station, r, T0)
                                         for n, r in wave))
            for (_, req), answer in zip(wave, got, strict=True):
                answers.setdefault((req.transaction_info.transaction_id, req.seq_no),
                                   []).append(answer)
        for i, user in enumerate(users):
            await _same(nodes[0], station, clean, f"tx-{i}", user, answers)
    finally:
        for node in nodes:
            await node.store.aclose()
        await pool.close()


async def _same(w: PgWorld, station: str, clean: Any, tx: str, user: uuid.UUID,
                answers: dict[tuple[str, int], list[TransactionEventResponse]]) -> None:
    got, want = await w.store.find(station, tx), await clean.store.find("CP1", tx)
    assert got is not None and want is not None
    assert {f: getattr(got, f) for f in _FIELDS} == {f: getattr(want, f) for f in _FIELDS}
    assert (got.user_id is None) == (want.user_id is None)
    stored = {e.seq_no: e.response for e in await w.store.events(station, tx)}
    assert sorted(stored) == sorted(q for t, q in answers if t == tx)
    for seq, response in stored.items():  # every delivery of a seqNo: the first answer
        first = msgspec.convert(response, TransactionEventResponse)
        assert all(a == first for a in answers[(tx, seq)])
    assert await _bill(w, station, tx, user) == await _bill(clean, "CP1", tx, user)
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"{station}/{tx}")
    assert entry is None or posted(entry) == got.cost_centavos  # history == ledger


async def _bill(w: Any, station: str, tx: str, user: uuid.UUID) -> tuple[Any, ...]:
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"{station}/{tx}")
    wallet = await w.ledger.account(AccountKind.USER_WALLET, user)
    debt = await w.ledger.account(AccountKind.USER_RECEIVABLE, user)
    amounts = sorted(p.amount_centavos for p in entry.postings) if entry else None
    return amounts, await w.ledger.balance(wallet.id), await w.ledger.balance(debt.id)
