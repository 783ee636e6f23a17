"""Issue #14 items 8-10 on fakes: events after Ended, a second token, and remote starts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from msgspec.structs import replace

from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import RemoteStart, TxStatus
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as A
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.transactions import remote_starts
from sigec_actors.transactions.billing import SOURCE_TYPE
from sigec_actors.transactions.errors import RemoteStartIdTaken
from sigec_actors.transactions.facts import facts_of
from sigec_actors.transactions.fold import fold
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, World, event, session, world
from tests.transactions.test_service import fund, run

TARIFF = Tariff(price_per_kwh_centavos=20)
MIN = timedelta(minutes=1)


def ended_then_late() -> list[TransactionEventRequest]:
    """The issue's stream: billed at 1.4 kWh (28 centavos), then an Updated at 2.0 kWh."""
    return [event(E.STARTED, 0, T0, wh=0, token="CARD-1"),
            event(E.UPDATED, 1, T0 + 10 * MIN, wh=700),
            event(E.ENDED, 2, T0 + 20 * MIN, wh=1_400, reason="EVDisconnected"),
            event(E.UPDATED, 3, T0 + 30 * MIN, wh=2_000)]


def remote(req: TransactionEventRequest, remote_start_id: int) -> TransactionEventRequest:
    """The request as a station sends it after our RequestStartTransaction."""
    info = replace(req.transaction_info, remote_start_id=remote_start_id)
    return replace(req, transaction_info=info)


async def posted(w: World, tx: str, station: str = "CP1") -> int | None:
    """The amount the ledger posted for the session (None: nothing posted)."""
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"{station}/{tx}")
    return None if entry is None else sum(p.amount_centavos for p in entry.postings
                                          if p.amount_centavos > 0)


async def _world_with(*cards: str) -> tuple[World, list[uuid.UUID]]:
    w, users = world(TARIFF), []
    for card in cards:
        users.append(uuid.uuid4())
        await w.tokens.add(users[-1], card, IdTokenType.ISO14443)
        await fund(w, users[-1], 1_000)
    return w, users


def test_events_after_the_ended_change_nothing_in_the_fold() -> None:
    reqs = ended_then_late()
    clean = fold([facts_of(r) for r in reqs[:3]])
    late = fold([facts_of(r) for r in reqs])
    assert late == clean and late.energy_wh == 1_400 and late.last_seq_no == 2
    far = event(E.UPDATED, 9, T0 + 40 * MIN, wh=9_000)  # after the end: no gap either
    assert fold([facts_of(r) for r in [*reqs, far]]) == clean


async def test_an_updated_after_ended_keeps_history_and_ledger_at_the_billed_cost() -> None:
    w, _ = await _world_with("CARD-1")
    answers = await run(w, ended_then_late())
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ENDED
    assert (tx.energy_wh, tx.cost_centavos, tx.last_seq_no) == (1_400, 28, 2)
    assert await posted(w, "tx-1") == 28
    assert answers[2].total_cost == answers[3].total_cost == 0.28
    assert len(await w.store.events("CP1", "tx-1")) == 4  # the late event is kept


async def test_a_billed_session_never_changes_even_for_an_event_numbered_before_it() -> None:
    w, _ = await _world_with("CARD-1")
    await run(w, [event(E.STARTED, 5, T0, wh=1_000, token="CARD-1"),
                  event(E.ENDED, 6, T0 + 30 * MIN, wh=2_400)])
    before = await w.store.find("CP1", "tx-1")
    assert before is not None and before.cost_centavos == 28 == await posted(w, "tx-1")
    late = await w.service.handle_event(  # numbered below the Started, read after the bill
        "CP1", event(E.UPDATED, 2, T0 - 5 * MIN, wh=0), T0)
    after = await w.store.find("CP1", "tx-1")
    assert after is not None and late.total_cost == 0.28
    assert (after.cost_centavos, after.energy_wh, after.seq_gap) == (28, 1_400, False)
    assert await posted(w, "tx-1") == 28


async def test_a_second_started_with_another_token_changes_no_owner() -> None:
    w, (ana, _) = await _world_with("CARD-A", "CARD-B")
    await w.service.handle_event("CP1", event(E.STARTED, 1, T0, wh=0, token="CARD-A"), T0)
    second = await w.service.handle_event(  # numbered lower than the first, another card
        "CP1", event(E.STARTED, 0, T0 + MIN, wh=0, token="CARD-B"), T0)
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and (tx.id_token, tx.user_id) == ("CARD-A", ana)
    assert second.id_token_info is not None and second.id_token_info.status is A.ACCEPTED
    assert len(await w.store.events("CP1", "tx-1")) == 2


async def test_an_updated_with_another_token_changes_no_owner() -> None:
    w, (_, bob) = await _world_with("CARD-A", "CARD-B")
    await run(w, [event(E.STARTED, 0, T0, wh=0),  # started by plugging in: no token yet
                  event(E.UPDATED, 2, T0 + 2 * MIN, token="CARD-B"),
                  event(E.UPDATED, 1, T0 + MIN, token="CARD-A"),
                  event(E.ENDED, 3, T0 + 30 * MIN, wh=1_000)])
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and (tx.id_token, tx.user_id) == ("CARD-B", bob)
    assert await posted(w, "tx-1") == 20


async def test_a_remote_start_without_id_token_belongs_to_who_asked() -> None:
    w, (ana,) = await _world_with("CARD-A")
    assert await w.store.remember_remote_start(RemoteStart(
        station_id="CP1", remote_start_id=77, id_token="app-ana", id_token_type="Central",
        user_id=ana))
    await run(w, [remote(r, 77) for r in session(token=None, kwh=2)])
    tx = await w.store.find("CP1", "tx-1")
    assert tx is not None and tx.user_id == ana
    assert (tx.id_token, tx.id_token_type) == ("app-ana", "Central")
    assert tx.cost_centavos == 40 == await posted(w, "tx-1")
    # another transaction naming the same remoteStartId is nobody's
    await w.service.handle_event("CP1", remote(event(E.STARTED, 0, T0, tx="tx-2"), 77), T0)
    other = await w.store.find("CP1", "tx-2")
    assert other is not None and other.user_id is None and other.id_token is None


async def test_remember_skips_ids_the_station_has_and_refuses_a_given_one() -> None:
    w = world()
    ids = iter([5, 5, 6]).__next__
    token = ("app-x", "Central")
    assert await remote_starts.remember(w.store, "CP1", token, None, ids) == 5
    assert await remote_starts.remember(w.store, "CP1", token, None, ids) == 6
    with pytest.raises(RemoteStartIdTaken) as err:
        await remote_starts.remember(w.store, "CP1", token, None, ids, given=6)
    assert err.value.remote_start_id == 6
    assert await remote_starts.remember(None, "CP1", token, None, ids, given=9) == 9
