"""R2: duplicated, reordered and delayed TransactionEvents end in the clean stream's state and bill."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from msgspec.structs import asdict

from sigec_actors.domain.ledger import AccountKind, JournalEntry
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import TransactionState, TxStatus
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.transactions.billing import SOURCE_TYPE
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, World, event, world
from tests.transactions.test_service import fund

TARIFF = Tariff(price_per_kwh_centavos=173, per_minute_centavos=7, idle_per_minute_centavos=31,
                session_fee_centavos=250)
STATES = st.sampled_from([None, "Charging", "SuspendedEV", "EVConnected", "Idle"])


@st.composite
def sessions(draw: st.DrawFn, tx: str, token: str) -> list[TransactionEventRequest]:
    """One transaction: Started, 0-6 Updated, Ended, then 0-2 late Updated or Ended (numbered
    after the Ended: they must change nothing); registers only grow; states vary."""
    n, late = draw(st.integers(0, 6)), draw(st.integers(0, 2))
    at, wh = T0, draw(st.integers(0, 50_000))
    evs = [event(E.STARTED, 0, at, tx=tx, wh=wh, token=token, state=draw(STATES))]
    for seq in range(1, n + 2):
        seconds = draw(st.integers(1, 3_600))
        at += timedelta(seconds=seconds)
        wh += draw(st.integers(0, min(20_000, seconds * 100)))  # <= 360 kW: never implausible
        kind = E.ENDED if seq == n + 1 else E.UPDATED
        sample = wh if draw(st.booleans()) or kind is E.ENDED else None
        evs.append(event(kind, seq, at, tx=tx, wh=sample, state=draw(STATES),
                         offline=draw(st.booleans())))
    for seq in range(n + 2, n + 2 + late):  # at most 1 MW, as a station may claim
        at += timedelta(seconds=draw(st.integers(60, 3_600)))
        wh += draw(st.integers(0, 10_000))
        evs.append(event(draw(st.sampled_from([E.UPDATED, E.ENDED])), seq, at, tx=tx, wh=wh,
                         offline=draw(st.booleans())))
    return evs


class MessyDelivery(RuleBasedStateMachine):
    """The messy world gets events in any order, some twice; the clean world gets them once."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clean = self.messy = world(TARIFF)
        self.pending: list[TransactionEventRequest] = []
        self.delivered: list[TransactionEventRequest] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        self.clean, self.messy = world(TARIFF), world(TARIFF)
        self.users: dict[str, uuid.UUID] = {}
        streams = []
        for i in range(data.draw(st.integers(1, 3), label="transactions")):
            tx, token, user = f"tx-{i}", f"CARD-{i}", uuid.uuid4()
            self.users[tx] = user
            wallet = data.draw(st.integers(0, 5_000), label="wallet")
            for w in (self.clean, self.messy):
                self.run(w.tokens.add(user, token, IdTokenType.ISO14443))
                if wallet:
                    self.run(fund(w, user, wallet))
            streams.append(data.draw(sessions(tx, token), label=tx))
        for stream in streams:
            for req in stream:
                self.run(self.clean.service.handle_event("CP1", req, T0))
        self.pending = [r for s in streams for r in s]

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), late=st.integers(0, 7 * 24 * 3600))
    def deliver_any_pending(self, data: st.DataObject, late: int) -> None:
        i = data.draw(st.integers(0, len(self.pending) - 1), label="pick")
        req = self.pending.pop(i)
        self.run(self.messy.service.handle_event("CP1", req, T0 + timedelta(seconds=late)))
        self.delivered.append(req)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def deliver_a_duplicate(self, data: st.DataObject) -> None:
        req = data.draw(st.sampled_from(self.delivered), label="duplicate")
        first = self.run(self.messy.store.events("CP1", req.transaction_info.transaction_id))
        answer = self.run(self.messy.service.handle_event("CP1", req, T0))
        stored = next(e.response for e in first if e.seq_no == req.seq_no)
        assert answer == self.run(_as_response(stored))

    @invariant()
    def energy_never_negative_and_billed_at_most_once_at_the_row_cost(self) -> None:
        for tx in getattr(self, "users", {}):
            found = self.run(self.messy.store.find("CP1", tx))
            if found is None:
                continue
            assert found.energy_wh >= 0 and found.cost_centavos >= 0
            entry = self.run(self.messy.ledger.entry_by_source(SOURCE_TYPE, f"CP1/{tx}"))
            if entry is not None:  # history and ledger agree, late events or not
                assert found.status is TxStatus.ENDED and not found.seq_gap
                assert found.cost_centavos == posted(entry)

    @precondition(lambda self: not self.pending and self.delivered)
    @rule()
    def everything_delivered_matches_the_clean_stream(self) -> None:
        self.compare()

    def compare(self) -> None:
        for tx, user in self.users.items():
            a = self.run(self.clean.store.find("CP1", tx))
            b = self.run(self.messy.store.find("CP1", tx))
            assert a is not None and b is not None
            fields = TransactionState.__struct_fields__
            assert {f: asdict(a)[f] for f in fields} == {f: asdict(b)[f] for f in fields}
            assert self.run(_bill(self.clean, tx, user)) == self.run(_bill(self.messy, tx, user))

    def teardown(self) -> None:
        try:
            while self.pending:  # whatever is still delayed arrives in the end
                self.deliver_late(self.pending.pop())
            if self.delivered:
                self.compare()
        finally:
            self.loop.close()

    def deliver_late(self, req: TransactionEventRequest) -> None:
        self.run(self.messy.service.handle_event("CP1", req, T0 + timedelta(days=30)))
        self.delivered.append(req)


def posted(entry: JournalEntry) -> int:
    """The session's posted cost: the sum of its entry's credits."""
    return sum(p.amount_centavos for p in entry.postings if p.amount_centavos > 0)


async def _as_response(stored: dict[str, Any]) -> Any:
    import msgspec

    from sigec_actors.ocpp.generated.v201 import TransactionEventResponse
    return msgspec.convert(stored, TransactionEventResponse)


async def _bill(w: World, tx: str, user: uuid.UUID) -> tuple[Any, ...]:
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"CP1/{tx}")
    wallet = await w.ledger.account(AccountKind.USER_WALLET, user)
    debt = await w.ledger.account(AccountKind.USER_RECEIVABLE, user)
    amounts = sorted(p.amount_centavos for p in entry.postings) if entry else None
    return amounts, await w.ledger.balance(wallet.id), await w.ledger.balance(debt.id)


MessyDelivery.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_messy_delivery_matches_clean_stream = MessyDelivery.TestCase
