"""Local lists, display messages, meter values and data transfer on the in-memory store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.commands import CommandOffline
from api.testing import FakeCommander
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.local_list import apply
from sigec_actors.ocpp_blocks.meter_values import samples_of
from sigec_actors.ocpp_blocks.records import ListToken
from sigec_actors.ocpp_blocks.wiring import OcppBlocks
from sigec_actors.testing.ocpp_blocks import InMemoryBlocks

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
TOKENS = [ListToken("CARD-1", "ISO14443", "Accepted"),
          ListToken("CARD-2", "ISO14443", "Blocked", NOW + timedelta(days=30)),
          ListToken("CARD-3", "ISO14443", "Accepted", NOW - timedelta(days=1))]


def entry(token: str, info: bool = True) -> m.AuthorizationData:
    return m.AuthorizationData(
        id_token=m.IdToken(id_token=token, type=m.IdTokenEnum.ISO14443),
        id_token_info=m.IdTokenInfo(status=m.AuthorizationStatusEnum.ACCEPTED) if info else None)


def blocks(tokens: list[ListToken] | None = None) -> OcppBlocks:
    return OcppBlocks(InMemoryBlocks(tokens or []), lambda: NOW)


def test_full_replaces_and_differential_adds_and_removes() -> None:
    full = apply(None, m.UpdateEnum.FULL, [entry("A"), entry("B")], 1, NOW)
    assert (full.version, full.size) == (1, 2)
    diff = apply(full, m.UpdateEnum.DIFFERENTIAL, [entry("C"), entry("A", info=False)], 2, NOW)
    assert diff.entries == (("B", "ISO14443"), ("C", "ISO14443")) and diff.version == 2
    again = apply(diff, m.UpdateEnum.FULL, [], 3, NOW)
    assert again.size == 0


async def test_local_list_from_the_database_then_versions_per_station() -> None:
    b, station = blocks(TOKENS), FakeCommander(online={"CP-1"})
    sent = await b.local_lists.send(station, "CP-1", m.UpdateEnum.FULL, None)
    assert (sent.status, sent.version_number, sent.size) == ("Accepted", 1, 3)
    [(_, request)] = station.sent
    assert isinstance(request, m.SendLocalListRequest)
    blocked = request.local_authorization_list[1]  # type: ignore[index]
    assert blocked.id_token.id_token == "CARD-2"
    assert blocked.id_token_info is not None
    assert blocked.id_token_info.status is m.AuthorizationStatusEnum.BLOCKED
    assert blocked.id_token_info.cache_expiry_date_time == NOW + timedelta(days=30)
    expired = request.local_authorization_list[2]  # type: ignore[index]
    assert expired.id_token_info is not None  # its expiry passed: Expired, whatever its row says
    assert expired.id_token_info.status is m.AuthorizationStatusEnum.EXPIRED
    second = await b.local_lists.send(station, "CP-1", m.UpdateEnum.DIFFERENTIAL, [entry("X")])
    assert (second.version_number, second.size) == (2, 4)
    station.online.add("CP-2")  # another station counts its own versions
    assert (await b.local_lists.send(station, "CP-2", m.UpdateEnum.FULL, [])).version_number == 1


async def test_a_refused_list_is_not_stored() -> None:
    b, station = blocks(TOKENS), FakeCommander(online={"CP-1"})
    station.answers[m.SendLocalListRequest] = lambda _: m.SendLocalListResponse(
        status=m.SendLocalListStatusEnum.VERSION_MISMATCH)
    sent = await b.local_lists.send(station, "CP-1", m.UpdateEnum.FULL, None)
    assert (sent.status, sent.size) == ("VersionMismatch", 0)
    assert await b.store.local_list("CP-1") is None
    station.answers[m.GetLocalListVersionRequest] = lambda _: m.GetLocalListVersionResponse(
        version_number=7)
    version = await b.local_lists.version(station, "CP-1")
    assert (version.version, version.size, version.stored_version) == (7, 0, None)


def info(message_id: int, text: str) -> m.MessageInfo:
    return m.MessageInfo(id=message_id, priority=m.MessagePriorityEnum.NORMAL_CYCLE,
                         message=m.MessageContent(format=m.MessageFormatEnum.UTF8, content=text))


async def test_display_message_set_then_the_stations_report_replaces_the_store() -> None:
    b, station = blocks(), FakeCommander(online={"CP-1"})
    assert (await b.display.set(station, "CP-1", info(1, "R$ 1,50/kWh"))).status == "Accepted"
    assert [d.id for d in (await b.display.stored("CP-1")).messages] == [1]

    def reports(req: msgspec.Struct) -> msgspec.Struct:
        assert isinstance(req, m.GetDisplayMessagesRequest)
        for part, tbc in ((info(2, "two"), True), (info(3, "three"), False)):
            asyncio.get_running_loop().create_task(b.display.on_notify("CP-1", (
                m.NotifyDisplayMessagesRequest(request_id=req.request_id, tbc=tbc,
                                               message_info=(part,)))))
        return m.GetDisplayMessagesResponse(status=m.GetDisplayMessagesStatusEnum.ACCEPTED)

    station.answers[m.GetDisplayMessagesRequest] = reports
    listed = await b.display.query(station, "CP-1", 41, wait_s=5)
    assert listed.complete and listed.request_id == 41
    assert [(d.id, d.source, d.message["message"]["content"]) for d in listed.messages] == [
        (2, "reported", "two"), (3, "reported", "three")]  # 1 is no longer on the station
    cleared = await b.display.clear(station, "CP-1", 2)
    assert cleared.status is m.ClearMessageStatusEnum.ACCEPTED
    assert [d.id for d in (await b.display.stored("CP-1")).messages] == [3]


async def test_a_station_without_messages_empties_the_store() -> None:
    b, station = blocks(), FakeCommander(online={"CP-1"})
    await b.display.set(station, "CP-1", info(1, "x"))
    listed = await b.display.query(station, "CP-1", 1, wait_s=0)  # fake answers Unknown
    assert (listed.status, listed.complete, listed.messages) == ("Unknown", True, [])


def test_meter_samples_make_the_specs_defaults_explicit() -> None:
    req = msgspec.convert({"evseId": 0, "meterValue": [{"timestamp": NOW.isoformat(),
                           "sampledValue": [{"value": 1234.5},
                                            {"value": 230.1, "measurand": "Voltage",
                                             "phase": "L1-N",
                                             "unitOfMeasure": {"unit": "V"}}]}]},
                          m.MeterValuesRequest)
    first, second = samples_of(req)
    assert (first.measurand, first.value, first.evse_id) == (
        "Energy.Active.Import.Register", 1234.5, 0)
    assert (second.measurand, second.phase, second.unit) == ("Voltage", "L1-N", "V")


async def test_meter_values_read_back_by_window_and_measurand() -> None:
    b = blocks()
    req = msgspec.convert({"evseId": 1, "meterValue": [
        {"timestamp": (NOW - timedelta(hours=h)).isoformat(),
         "sampledValue": [{"value": float(h)}, {"value": 230.0, "measurand": "Voltage"}]}
        for h in (1, 30)]}, m.MeterValuesRequest)
    assert await b.meter_values.on_meter_values("CP-1", req) == m.MeterValuesResponse()
    day = await b.meter_values.read("CP-1", None, None, None, 100)
    assert [(s.measurand, s.value) for s in day] == [
        ("Energy.Active.Import.Register", 1.0), ("Voltage", 230.0)]
    old = await b.meter_values.read("CP-1", NOW - timedelta(days=2), NOW,
                                    "Energy.Active.Import.Register", 100)
    assert [s.value for s in old] == [30.0, 1.0]


async def test_data_transfer_goes_to_the_vendors_handler() -> None:
    b = blocks()

    async def echo(station_id: str, req: m.DataTransferRequest) -> m.DataTransferResponse:
        return m.DataTransferResponse(status=m.DataTransferStatusEnum.ACCEPTED,
                                      data={"station": station_id, "got": req.data})

    b.data_transfers.register("org.example", echo)
    known = await b.data_transfers.on_data_transfer("CP-1", m.DataTransferRequest(
        vendor_id="org.example", data=[1, 2]))
    assert known.data == {"station": "CP-1", "got": [1, 2]}
    unknown = await b.data_transfers.on_data_transfer("CP-1", m.DataTransferRequest(
        vendor_id="com.other"))
    assert unknown.status is m.DataTransferStatusEnum.UNKNOWN_VENDOR_ID


class SlowStation:
    """The station answers after the event loop ran others (as a real round trip does)."""

    def __init__(self) -> None:
        self.inner = FakeCommander(online={"CP-1"})

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        await asyncio.sleep(0)
        return await self.inner.send(station_id, request)


async def test_concurrent_lists_get_consecutive_versions() -> None:
    b, station = blocks(TOKENS), SlowStation()
    sent = await asyncio.gather(*(b.local_lists.send(station, "CP-1", m.UpdateEnum.FULL, [])
                                  for _ in range(3)))
    assert sorted(s.version_number for s in sent) == [1, 2, 3]


async def test_a_report_nobody_asked_for_adds_but_replaces_nothing() -> None:
    b, station = blocks(), FakeCommander(online={"CP-1"})
    await b.display.set(station, "CP-1", info(1, "ours"))
    await b.display.on_notify("CP-1", m.NotifyDisplayMessagesRequest(
        request_id=999, message_info=(info(2, "unsolicited"),)))
    assert [d.id for d in (await b.display.stored("CP-1")).messages] == [1, 2]


async def test_an_offline_station_leaves_no_query_behind() -> None:
    b, station = blocks(), FakeCommander(online=set())
    with pytest.raises(CommandOffline):
        await b.display.query(station, "CP-1", 5, wait_s=0)
    assert await b.store.query("CP-1", 5) is None


async def test_prune_keeps_the_retention_window() -> None:
    b = blocks()
    req = msgspec.convert({"evseId": 1, "meterValue": [
        {"timestamp": (NOW - timedelta(days=d)).isoformat(), "sampledValue": [{"value": d}]}
        for d in (1, 89, 91)]}, m.MeterValuesRequest)
    await b.meter_values.on_meter_values("CP-1", req)
    assert await b.prune(0) == 0  # 0: kept for ever
    assert await b.prune(90) == 1
    assert [s.value for s in await b.store.samples("CP-1", NOW - timedelta(days=100), NOW,
                                                   None, 10)] == [89.0, 1.0]


TOKEN_IDS = st.sampled_from(["A", "B", "C", "D"])
UPDATES = st.lists(st.tuples(st.sampled_from(list(m.UpdateEnum)),
                             st.lists(st.tuples(TOKEN_IDS, st.booleans()), max_size=4)),
                   max_size=6)


@settings(max_examples=40, deadline=None)
@given(UPDATES)
def test_the_stored_entries_follow_the_updates(updates: list) -> None:  # type: ignore[type-arg]
    held: set[str] = set()
    stored = None
    for version, (kind, items) in enumerate(updates, 1):
        stored = apply(stored, kind, [entry(t, info) for t, info in items], version, NOW)
        if kind is m.UpdateEnum.FULL:
            held = {t for t, _ in items}
        else:
            for token, info in items:
                (held.add if info else held.discard)(token)
        assert {key for key, _ in stored.entries} == held and stored.size == len(held)
        assert stored.version == version
