"""A station's implausible values get PropertyConstraintViolation from the actor, for good:
the link stays, nothing is stored, and its next valid event is accepted."""

from __future__ import annotations

from typing import Any

from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.conftest import BOOT, T0, tx_event
from tests.transactions.builders import world

REFUSED = "PropertyConstraintViolation"


def wh(value: float, at: str = T0) -> dict[str, Any]:
    return {"meterValue": [{"timestamp": at, "sampledValue": [{"value": value}]}]}


async def test_refusals_come_from_the_payload_rules_and_from_the_transaction_limits() -> None:
    w = world()
    async with ChargePointHarness(transactions=w.service) as h:
        await h.register("CP-1")
        link, sink = await h.connect("CP-1")
        assert (await h.call(sink, link, "BootNotification", BOOT))[2]["status"] == "Accepted"
        assert (await h.call(sink, link, "TransactionEvent",
                             tx_event("T-1", 0, "Started", **wh(100))))[0] == 3
        bad = [tx_event("T-1", 1, idToken={"idToken": "A\x00", "type": "ISO14443"}),
               tx_event("T-1", -1), tx_event("T-1", 1, **wh(-1)),
               tx_event("T-1", 1, evse={"id": 2**31}),  # payload rules (inbound)
               tx_event("T-1", 20_000_000), tx_event("T-1", 1, **wh(9e18)),
               tx_event("T-1", 1, **wh(10**9))]  # transaction limits (TransactionService)
        for payload in bad:
            answer = await h.call(sink, link, "TransactionEvent", payload)
            assert answer[0] == 4 and answer[2] == REFUSED, answer
        assert [e.seq_no for e in await w.store.events("CP-1", "T-1")] == [0]
        assert (await h.call(sink, link, "TransactionEvent",
                             tx_event("T-1", 1, "Ended", **wh(1_100))))[0] == 3
        tx = await w.store.find("CP-1", "T-1")
        assert tx is not None and tx.energy_wh == 1_000 and not tx.seq_gap
