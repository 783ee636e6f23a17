"""Devices: paging and status filter, detail merged with live state, nearby search, availability."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.ports import LiveConnector, LiveStatus
from api.testing import FakeLiveStations
from sigec_actors.domain.records import ConnectorStatus
from sigec_actors.ocpp.generated import v201
from tests.api.harness import Api


async def test_list_is_paged(api: Api) -> None:
    page = await api.json("GET", "/api/v1/devices?limit=2&offset=1", "user")
    assert [d["id"] for d in page["items"]] == ["CP-2", "CP-3"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert set(page["items"][0]) == {"id", "vendor", "model", "adminStatus", "online",
                                     "lastSeen", "locationId"}


async def test_list_filters_by_status(api: Api) -> None:
    stations = api.ctx.stations
    assert stations is not None
    await stations.set_online("CP-3", True, api.clock())
    online = await api.json("GET", "/api/v1/devices?status=online", "user")
    assert [d["id"] for d in online["items"]] == ["CP-3"] and online["total"] == 1
    offline = await api.json("GET", "/api/v1/devices?status=offline", "user")
    assert offline["total"] == 3


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset"),
    ("limit=ten", "limit"), ("status=sleeping", "status"), ("sort=id", "sort"),
])
async def test_list_rejects_bad_query(api: Api, query: str, field: str) -> None:
    problem = await api.json("GET", f"/api/v1/devices?{query}", "user", status=422)
    assert problem["field"] == field


async def test_detail_merges_records_and_live_state(api: Api) -> None:
    stations = api.ctx.stations
    assert stations is not None
    seen = api.clock() - timedelta(minutes=5)
    await stations.set_connector_status("CP-1", 1, 1, ConnectorStatus.AVAILABLE, now=seen)
    await stations.set_connector_status("CP-1", 1, 2, ConnectorStatus.FAULTED, now=seen)
    live = api.ctx.live
    assert isinstance(live, FakeLiveStations)
    live.states["CP-1"] = LiveStatus(online=True, last_seen=api.clock(), connectors=(
        LiveConnector(evse_id=1, connector_id=1, status="Occupied"),))
    body = await api.json("GET", "/api/v1/devices/CP-1", "user")
    assert body["online"] is True and body["vendor"] == "ACME"
    assert body["lastSeen"].startswith(api.clock().isoformat()[:19])
    assert body["location"]["name"] == "site CP-1"
    assert [(c["connectorId"], c["status"]) for c in body["connectors"]] == [
        (1, "Occupied"), (2, "Faulted")]


async def test_detail_without_live_state_uses_the_record(api: Api) -> None:
    body = await api.json("GET", "/api/v1/devices/CP-4", "user")
    assert body["online"] is False and body["location"] is None and body["connectors"] == []


async def test_unknown_device_is_404(api: Api) -> None:
    problem = await api.json("GET", "/api/v1/devices/NOPE", "user", status=404)
    assert problem["title"] == "Not Found"


async def test_nearby_sorted_by_distance(api: Api) -> None:
    body = await api.json("GET", "/api/v1/devices/nearby?lat=-3.7319&lng=-38.5267&radiusKm=50",
                          "user")
    assert [i["device"]["id"] for i in body["items"]] == ["CP-1", "CP-2"]
    distances = [i["distanceKm"] for i in body["items"]]
    assert distances == sorted(distances) and distances[0] < 0.01 < distances[1] < 10
    far = await api.json("GET", "/api/v1/devices/nearby?lat=-3.73&lng=-38.52&radiusKm=5000",
                         "user", status=422)
    assert far["field"] == "radiusKm"


@pytest.mark.parametrize(("query", "field"), [
    ("lat=91&lng=0", "lat"), ("lat=-90.5&lng=0", "lat"), ("lat=0&lng=181", "lng"),
    ("lat=0&lng=-180.1", "lng"), ("lat=0&lng=0&radiusKm=0", "radiusKm"),
    ("lng=0", "lat"), ("lat=abc&lng=0", "lat"),
])
async def test_nearby_validates_ranges(api: Api, query: str, field: str) -> None:
    problem = await api.json("GET", f"/api/v1/devices/nearby?{query}", "user", status=422)
    assert problem["field"] == field


async def test_operator_sets_availability_of_an_online_station(api: Api) -> None:
    body = await api.json("PATCH", "/api/v1/devices/CP-1/status", "operator",
                          json={"adminStatus": "Inoperative"})
    assert body == {"id": "CP-1", "adminStatus": "Inoperative",
                    "stationAnswer": {"status": "Accepted"}}
    assert api.commander.sent == [("CP-1", v201.ChangeAvailabilityRequest(
        operational_status=v201.OperationalStatusEnum.INOPERATIVE))]
    stored = await api.json("GET", "/api/v1/devices/CP-1", "operator")
    assert stored["adminStatus"] == "Inoperative"


async def test_status_change_validation_and_offline(api: Api) -> None:
    problem = await api.json("PATCH", "/api/v1/devices/CP-1/status", "operator",
                             json={"adminStatus": "Broken"}, status=422)
    assert problem["field"] == "adminStatus"
    problem = await api.json("PATCH", "/api/v1/devices/CP-1/status", "operator",
                             json={"adminStatus": "Operative", "online": True}, status=422)
    assert problem["field"] == "online"
    # an offline station: the status is stored, there is no station answer
    body = await api.json("PATCH", "/api/v1/devices/CP-2/status", "operator",
                          json={"adminStatus": "Inoperative"})
    assert body == {"id": "CP-2", "adminStatus": "Inoperative", "stationAnswer": None}
    assert (await api.json("GET", "/api/v1/devices/CP-2", "operator"))["adminStatus"] == (
        "Inoperative")
    await api.json("PATCH", "/api/v1/devices/NOPE/status", "operator",
                   json={"adminStatus": "Operative"}, status=404)
