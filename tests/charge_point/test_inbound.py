"""Every station CALL is answered correctly through a FakeLink and in-memory ports."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from sigec_actors.domain.events import OCPP_DEVICE_BOOT, OCPP_DEVICE_CONNECTED, OCPP_DEVICE_STATUS
from sigec_actors.domain.records import ConnectorStatus
from sigec_actors.testing.ocpp import AcceptAllTokens, ChargePointHarness
from tests.charge_point.conftest import BOOT, T0, status, tx_event


async def spin(rounds: int = 20) -> None:
    """Let the loop run a few rounds (for an actor that is blocked on purpose)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def booted(h: ChargePointHarness, station_id: str = "CP-1"):
    await h.register(station_id)
    link, sink = await h.connect(station_id)
    answer = await h.call(sink, link, "BootNotification", BOOT)
    assert answer[2]["status"] == "Accepted"
    return link, sink


async def test_boot_accepted_persists_before_reply(harness: ChargePointHarness) -> None:
    await harness.register("CP-1")
    link, sink = await harness.connect("CP-1")
    assert harness.fakes.outbox.subjects() == [OCPP_DEVICE_CONNECTED]
    answer = await harness.call(sink, link, "BootNotification", BOOT)
    assert answer[0] == 3
    assert answer[2]["status"] == "Accepted"
    assert answer[2]["interval"] == 300
    assert answer[2]["currentTime"] == "2025-01-01T00:00:00Z"
    station = await harness.fakes.stations.get("CP-1")
    assert station is not None and station.vendor == "ACME" and station.online
    assert station.firmware_version == "1.2.3" and station.boot_reason == "PowerUp"
    assert harness.fakes.outbox.subjects() == [OCPP_DEVICE_CONNECTED, OCPP_DEVICE_BOOT]


async def test_unregistered_station_rejected_then_gated(harness: ChargePointHarness) -> None:
    link, sink = await harness.connect("CP-X")
    answer = await harness.call(sink, link, "BootNotification", BOOT)
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["interval"] == 600
    heartbeat = await harness.call(sink, link, "Heartbeat", {})
    assert heartbeat[0] == 4 and heartbeat[2] == "SecurityError"


async def test_auto_register_gives_pending_and_pending_gating() -> None:
    from sigec_actors.charge_point.model import Policy

    async with ChargePointHarness(policy=Policy(auto_register=True)) as h:
        link, sink = await h.connect("CP-NEW")
        answer = await h.call(sink, link, "BootNotification", BOOT)
        assert answer[2] | {"currentTime": None} == {
            "currentTime": None, "interval": 60, "status": "Pending"}
        report = {"requestId": 1, "generatedAt": T0, "seqNo": 0, "reportData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
             "variableAttribute": [{"value": "300"}]}]}
        assert (await h.call(sink, link, "NotifyReport", report))[0] == 3
        for action, payload in [("StatusNotification", status(1, 1, "Available")),
                                ("Heartbeat", {})]:
            answer = await h.call(sink, link, action, payload)
            assert answer[0] == 4 and answer[2] == "SecurityError"
        assert h.fakes.bus.published[-1].subject == OCPP_DEVICE_BOOT


async def test_heartbeat_answers_utc_and_does_not_write(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    harness.clock.advance(12.5)
    before = (await harness.fakes.stations.get("CP-1")).last_seen  # type: ignore[union-attr]
    answer = await harness.call(sink, link, "Heartbeat", {})
    assert answer == [3, answer[1], {"currentTime": "2025-01-01T00:00:12.500000Z"}]
    assert (await harness.fakes.stations.get("CP-1")).last_seen == before  # type: ignore[union-attr]
    await harness.deps.last_seen.flush()  # the batched write
    seen = (await harness.fakes.stations.get("CP-1")).last_seen  # type: ignore[union-attr]
    assert seen == harness.clock.now()


async def test_status_notification_persists_with_event(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    assert (await harness.call(sink, link, "StatusNotification", status(1, 1, "Available")))[0] == 3
    assert (await harness.call(sink, link, "StatusNotification", status(1, 1, "Occupied")))[0] == 3
    connectors = await harness.fakes.stations.connectors("CP-1")
    assert [c.status for c in connectors] == [ConnectorStatus.OCCUPIED]
    statuses = [m.payload["status"] for _, m in harness.fakes.outbox.messages
                if m.subject == OCPP_DEVICE_STATUS]
    assert statuses == ["Available", "Occupied"]
    # a repeated status is acknowledged without a write; an illegal one is acknowledged only
    assert (await harness.call(sink, link, "StatusNotification", status(1, 1, "Occupied")))[0] == 3
    assert (await harness.call(sink, link, "StatusNotification", status(1, 1, "Reserved")))[0] == 3
    assert len([1 for _, m in harness.fakes.outbox.messages if m.subject == OCPP_DEVICE_STATUS]) == 2


async def test_authorize_default_unknown_and_pluggable() -> None:
    token = {"idToken": {"idToken": "ABC", "type": "ISO14443"}}
    async with ChargePointHarness() as h:
        link, sink = await booted(h)
        answer = await h.call(sink, link, "Authorize", token)
        assert answer[0] == 3 and answer[2] == {"idTokenInfo": {"status": "Unknown"}}
    async with ChargePointHarness(authorizer=AcceptAllTokens()) as h:
        link, sink = await booted(h)
        answer = await h.call(sink, link, "Authorize", token)
        assert answer[2] == {"idTokenInfo": {"status": "Accepted"}}


@pytest.mark.parametrize(("action", "payload", "expected"), [
    ("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [
        {"value": 1200.0}]}]}, {}),
    ("NotifyEvent", {"generatedAt": T0, "seqNo": 0, "eventData": [{
        "eventId": 1, "timestamp": T0, "trigger": "Alerting", "actualValue": "1",
        "eventNotificationType": "HardWiredNotification",
        "component": {"name": "EVSE"}, "variable": {"name": "Problem"}}]}, {}),
    ("FirmwareStatusNotification", {"status": "Installed", "requestId": 1}, {}),
    ("LogStatusNotification", {"status": "Uploaded", "requestId": 2}, {}),
    ("DataTransfer", {"vendorId": "com.acme"}, {"status": "UnknownVendorId"}),
    ("NotifyEVChargingNeeds", {"evseId": 0, "chargingNeeds": {
        "requestedEnergyTransfer": "DC"}}, {"status": "Rejected"}),
    ("ReservationStatusUpdate", {"reservationId": 7, "reservationUpdateStatus": "Expired"}, {}),
])
async def test_simple_actions_answered(harness: ChargePointHarness, action: str,
                                       payload: dict, expected: dict) -> None:
    link, sink = await booted(harness)
    answer = await harness.call(sink, link, action, payload)
    assert answer[0] == 3 and answer[2] == expected


async def test_state_keeps_reports_and_statuses(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    report = {"requestId": 1, "generatedAt": T0, "seqNo": 0, "reportData": [
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
         "variableAttribute": [{"type": "Actual", "value": "22000"}]}]}
    await harness.call(sink, link, "NotifyReport", report)
    await harness.call(sink, link, "FirmwareStatusNotification", {"status": "Downloading"})
    view = await harness.sessions.view("CP-1")  # type: ignore[union-attr]
    assert view is not None
    assert view.variables == {"EVSE@1/Power:Actual": "22000"}
    assert view.firmware_status == "Downloading" and view.boot_status == "Accepted"
    assert view.vendor == "ACME" and view.online


async def test_security_event_always_accepted_and_audited(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    answer = await harness.call(sink, link, "SecurityEventNotification",
                                {"type": "TamperDetectionActivated", "timestamp": T0})
    assert answer[0] == 3
    [record] = harness.fakes.audit.records
    assert record.entry.action == "ocpp.security_event"
    assert record.entry.details["critical"] is True


@pytest.mark.parametrize(("action", "payload"), [
    ("SignCertificate", {"csr": "x"}),
    ("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}}),
])
async def test_known_unsupported_actions_get_not_supported(
        harness: ChargePointHarness, action: str, payload: dict) -> None:
    link, sink = await booted(harness)
    answer = await harness.call(sink, link, action, payload)
    assert answer[0] == 4 and answer[2] == "NotSupported"


async def test_parser_errors_answered_by_the_session(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    await sink.on_frame(b'[2, "u1", "FrobnicateNow", {}]')
    await sink.on_frame(b'[2, "u2", "Reset", {"type": "Immediate"}]')
    await sink.on_frame(b'not json')
    await harness.settle()
    codes = {f[1]: f[2] for f in link.frames() if f[0] == 4}
    assert codes == {"u1": "NotImplemented", "u2": "NotSupported", "-1": "RpcFrameworkError"}


async def test_transaction_event_idempotent(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    started = tx_event("T-1", 0, "Started", idToken={"idToken": "ABC", "type": "ISO14443"})
    first = await harness.call(sink, link, "TransactionEvent", started)
    again = await harness.call(sink, link, "TransactionEvent", started)  # retry, new message id
    assert first[0] == again[0] == 3
    assert first[2] == again[2] == {"idTokenInfo": {"status": "Unknown"}}
    await harness.call(sink, link, "TransactionEvent", tx_event("T-1", 1))
    events = await harness.fakes.tx_events.events("CP-1", "T-1")
    assert [e.seq_no for e in events] == [0, 1]
    tx = await harness.fakes.tx_events.find("CP-1", "T-1")
    assert tx is not None and tx.last_seq_no == 1 and tx.evse_id == 1


class FailingStore:
    """A TransactionEventHandler whose storage is down (raises) or hangs."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang

    async def handle(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        if self.hang:
            await asyncio.Event().wait()
        raise ConnectionRefusedError("database is down")


async def test_transaction_event_db_failure_is_internal_error() -> None:
    async with ChargePointHarness(transactions=FailingStore()) as h:
        link, sink = await booted(h)
        answer = await h.call(sink, link, "TransactionEvent", tx_event("T-1", 0, "Started"))
        assert answer[0] == 4 and answer[2] == "InternalError"
        assert (await h.call(sink, link, "Heartbeat", {}))[0] == 3  # the actor lives on


async def test_transaction_event_db_hang_times_out_on_the_clock() -> None:
    async with ChargePointHarness(transactions=FailingStore(hang=True),
                                  persist_timeout_s=2.0) as h:
        link, sink = await booted(h)
        await sink.on_frame(msgspec.json.encode([2, "t1", "TransactionEvent",
                                                 tx_event("T-1", 0, "Started")]))
        await spin()  # the actor is stuck in the store: it cannot settle
        assert link.replies("t1") == []
        h.clock.advance(2.0)
        await h.settle()
        [answer] = link.replies("t1")
        assert answer[2] == "InternalError"


async def test_duplicate_message_id_while_handled_is_refused() -> None:
    """R10: the same id arriving while the first is still being stored -> CALLERROR, once."""
    gate = asyncio.Event()

    class SlowStore:
        calls = 0

        async def handle(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
            from sigec_actors.ocpp.generated.v201 import TransactionEventResponse

            SlowStore.calls += 1
            await gate.wait()
            return TransactionEventResponse()

    async with ChargePointHarness(transactions=SlowStore()) as h:
        link, sink = await booted(h)
        frame = msgspec.json.encode([2, "dup", "TransactionEvent", tx_event("T-1", 0, "Started")])
        await sink.on_frame(frame)
        await spin()
        await sink.on_frame(frame)
        await spin()
        assert link.replies("dup") == [[4, "dup", "RpcFrameworkError",
                                        "a CALL with this message id is already being handled",
                                        {}]]
        gate.set()
        await h.settle()
        assert [f[0] for f in link.replies("dup")] == [4, 3]
        assert SlowStore.calls == 1
