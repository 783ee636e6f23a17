"""PgDeviceModel on real PostgreSQL: parts once, model upserts, events once with their
monitor's severity, the first-boot inventory claimed once, upload slots used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.device_model import model
from sigec_actors.device_model.model import RequestKind
from sigec_actors.device_model.pg import PgDeviceModel
from sigec_actors.device_model.ports import LogRecord
from sigec_actors.device_model.service import token_hash
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ports import DbPool

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def store(pg_pool: DbPool) -> PgDeviceModel:
    async with pg_pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ('CP-1') ON CONFLICT DO NOTHING")
    return PgDeviceModel(pg_pool)


def _data(name: str, value: str, evse: int | None = None) -> m.ReportData:
    return m.ReportData(
        component=m.Component(name="EVSE" if evse else "OCPPCommCtrlr",
                              evse=m.EVSE(id=evse) if evse else None),
        variable=m.Variable(name=name),
        variable_attribute=(m.VariableAttribute(value=value,
                                                mutability=m.MutabilityEnum.READ_WRITE),),
        variable_characteristics=m.VariableCharacteristics(
            data_type=m.DataEnum.INTEGER, supports_monitoring=True, unit="s"))


async def test_report_rows_upsert_and_parts_once(store: PgDeviceModel) -> None:
    rows = model.report_rows([_data("HeartbeatInterval", "300"), _data("Power", "22", 1),
                              _data("HeartbeatInterval", "301")])  # a repeat: last one wins
    await store.put_variables("CP-1", rows, T0)
    await store.put_variables("CP-1", model.report_rows([_data("Power", "11", 1)]), T0)
    stored = {r.key: r for r in await store.variables("CP-1", None, None)}
    assert {k: r.value for k, r in stored.items()} == {
        "EVSE@1/Power:Actual": "11", "OCPPCommCtrlr/HeartbeatInterval:Actual": "301"}
    power = stored["EVSE@1/Power:Actual"]
    assert power.evse_id == 1 and power.mutability == "ReadWrite"
    assert power.characteristics == {"unit": "s", "dataType": "integer",
                                     "supportsMonitoring": True}
    assert [r.key for r in await store.variables("CP-1", "EVSE", None)] == ["EVSE@1/Power:Actual"]

    await store.keep_only("CP-1", keys={"EVSE@1/Power:Actual"})  # after a FullInventory
    assert [r.key for r in await store.variables("CP-1", None, None)] == ["EVSE@1/Power:Actual"]

    part = model.Part(kind=RequestKind.REPORT, request_id=7, seq_no=0, tbc=True,
                      generated_at=T0, items=2, data=[{"a": 1}])
    assert await store.add_part("CP-1", part) is True
    assert await store.add_part("CP-1", part) is False
    view = await store.request("CP-1", RequestKind.REPORT, 7)
    assert view is not None and view.status is None and len(view.parts) == 1
    assert not model.complete(view.parts)


async def test_first_inventory_once_unless_not_sent(store: PgDeviceModel) -> None:
    assert await store.first_inventory("CP-1", 1, T0) is True
    await store.answered("CP-1", RequestKind.REPORT, 1, "NotSent")
    assert await store.first_inventory("CP-1", 2, T0) is True  # never reached it: again
    await store.answered("CP-1", RequestKind.REPORT, 2, "Accepted")
    assert await store.first_inventory("CP-1", 3, T0) is False


async def test_events_once_with_monitor_severity(store: PgDeviceModel) -> None:
    await store.put_monitors("CP-1", [model.MonitorRow(
        id=5, component="EVSE", evse_id=1, variable="Temperature", type="UpperThreshold",
        value=80.0, severity=1)], T0)
    data = m.EventData(event_id=1, timestamp=T0, trigger=m.EventTriggerEnum.ALERTING,
                       actual_value="91", component=m.Component(name="EVSE"),
                       variable=m.Variable(name="Temperature"), variable_monitoring_id=5,
                       event_notification_type=m.EventNotificationEnum.CUSTOM_MONITOR)
    req = m.NotifyEventRequest(generated_at=T0, seq_no=0, event_data=(data,))
    [new] = await store.add_events("CP-1", model.event_rows(req))
    assert new.severity == 1
    await store.keep_only("CP-1", monitor_ids={5})
    assert [x.id for x in await store.monitors("CP-1")] == [5]
    await store.keep_only("CP-1", monitor_ids=set())  # an empty unfiltered report
    assert await store.add_events("CP-1", model.event_rows(req)) == [new]  # as first stored
    rows, total = await store.events("CP-1", 10, 0)
    assert total == 1 and rows[0].data["actualValue"] == "91"
    assert await store.monitors("CP-1") == []


async def test_upload_slot_is_used_once_and_expires(store: PgDeviceModel) -> None:
    record = LogRecord(station_id="CP-1", request_id=9, log_type="DiagnosticsLog",
                       requested_at=T0, expires_at=T0 + timedelta(hours=1))
    assert await store.add_log(record, token_hash("t"), "admin") is True
    assert await store.add_log(record, token_hash("u"), "admin") is False
    assert await store.claim_upload(token_hash("t"), T0 + timedelta(hours=2)) is None  # expired
    assert await store.claim_upload(token_hash("t"), T0) is not None
    assert await store.claim_upload(token_hash("t"), T0) is None  # used
    await store.uploaded("CP-1", 9, None, None)  # the upload failed: free again
    assert await store.claim_upload(token_hash("t"), T0) is not None
    # claimed, never stored (its node died mid-body): free again only after a while
    assert await store.claim_upload(token_hash("t"), T0 + timedelta(seconds=60)) is None
    assert await store.claim_upload(token_hash("t"), T0 + timedelta(minutes=11)) is not None
    await store.uploaded("CP-1", 9, "f.log", 3)
    await store.log_status("CP-1", None, "Uploaded", T0)  # no requestId: the latest request
    [log] = await store.logs("CP-1")
    assert (log.stored_name, log.size_bytes, [h.status for h in log.history]) == (
        "f.log", 3, ["Uploaded"])
