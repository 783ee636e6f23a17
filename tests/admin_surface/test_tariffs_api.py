"""Tariffs over REST on PostgreSQL: CRUD, scopes, the overlap rule (409), audit, roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.harness import Api

pytestmark = pytest.mark.pg
URL = "/api/v1/admin/tariffs"


def _at(api: Api, minutes: float) -> str:
    return (api.clock() + timedelta(minutes=minutes)).isoformat()


def _station(api: Api, **extra: Any) -> dict[str, Any]:
    return {"name": "CP-1 tariff", "scope": "station", "chargePointId": "CP-1",
            "pricePerKwhCentavos": 180, "sessionFeeCentavos": 200, **extra}


async def test_create_list_get_and_audit(pg_api: Api) -> None:
    api = pg_api
    made = await api.json("POST", URL, "admin", status=201, json={
        "name": "Network", "scope": "network", "pricePerKwhCentavos": 150,
        "pricePerMinuteCentavos": 5, "idlePerMinuteCentavos": 40, "sessionFeeCentavos": 100})
    assert made["scope"] == "network" and made["validTo"] is None
    assert made["pricePerMinuteCentavos"] == 5 and made["idlePerMinuteCentavos"] == 40
    conn = await api.json("POST", URL, "admin", status=201, json={
        "name": "Fast EVSE", "scope": "connector", "chargePointId": "CP-1", "evseId": 2,
        "pricePerKwhCentavos": 250, "validFrom": _at(api, 10), "validTo": _at(api, 70)})
    assert conn["scope"] == "connector" and conn["evseId"] == 2
    page = await api.json("GET", URL, "operator")
    assert page["total"] == 2 and {i["id"] for i in page["items"]} == {made["id"], conn["id"]}
    assert (await api.json("GET", f"{URL}/{conn['id']}", "operator"))["name"] == "Fast EVSE"
    audit = api.ctx.audit
    assert audit is not None
    actions = [r.entry.action for r in await audit.recent(10, target_type="tariff")]
    assert actions == ["tariff.create", "tariff.create"]
    await api.json("POST", URL, "operator", status=403, json=_station(api))
    await api.json("GET", URL, "user", status=403)


async def test_overlapping_tariffs_of_one_scope_are_refused(pg_api: Api) -> None:
    api = pg_api
    first = await api.json("POST", URL, "admin", status=201,
                           json=_station(api, validTo=_at(api, 60)))
    overlap = await api.json("POST", URL, "admin", status=409,
                             json=_station(api, validFrom=_at(api, 30)))
    assert first["id"] in overlap["detail"]
    # back to back is fine; another station, EVSE or the network scope are other targets
    await api.json("POST", URL, "admin", status=201, json=_station(api, validFrom=_at(api, 60)))
    await api.json("POST", URL, "admin", status=201, json=_station(api, chargePointId="CP-2"))
    await api.json("POST", URL, "admin", status=201,
                   json=_station(api, scope="connector", evseId=1))
    await api.json("POST", URL, "admin", status=201, json={"name": "n", "scope": "network"})
    await api.json("POST", URL, "admin", status=409, json={"name": "n2", "scope": "network"})
    # moving an existing one onto another is refused too
    later = await api.json("POST", URL, "admin", status=201, json=_station(
        api, chargePointId="CP-3", validFrom=_at(api, 120), validTo=_at(api, 180)))
    await api.json("POST", URL, "admin", status=201, json=_station(
        api, chargePointId="CP-3", validFrom=_at(api, 200)))
    await api.json("PATCH", f"{URL}/{later['id']}", "admin", status=409,
                   json={"validTo": _at(api, 240)})
    assert (await api.json("GET", URL, "admin"))["total"] == 7


BAD = [
    ({"name": "x", "scope": "station"}, "chargePointId"),
    ({"name": "x", "scope": "network", "chargePointId": "CP-1"}, "chargePointId"),
    ({"name": "x", "scope": "connector", "chargePointId": "CP-1"}, "evseId"),
    ({"name": "x", "scope": "station", "chargePointId": "CP-1", "evseId": 1}, "evseId"),
    ({"name": "x", "scope": "station", "chargePointId": "NOPE"}, "chargePointId"),
    ({"name": "x", "scope": "network", "pricePerKwhCentavos": -1}, "pricePerKwhCentavos"),
    ({"name": "x", "scope": "planet"}, "scope"),
    ({"name": "x", "scope": "network", "validFrom": "2020-01-01T00:00:00Z"}, "validFrom"),
    ({"name": "x", "scope": "network", "currency": "USD"}, "currency"),
]


async def test_bad_tariffs_are_422_naming_the_field(pg_api: Api) -> None:
    for body, field in BAD:
        problem = await pg_api.json("POST", URL, "admin", status=422, json=body)
        assert problem["field"] == field, (body, problem)
    assert (await pg_api.json("GET", URL, "admin"))["total"] == 0


async def test_window_end_before_start_is_422(pg_api: Api) -> None:
    problem = await pg_api.json("POST", URL, "admin", status=422, json=_station(
        pg_api, validFrom=_at(pg_api, 30), validTo=_at(pg_api, 10)))
    assert problem["field"] == "validTo"


async def test_patch_future_tariff_in_place(pg_api: Api) -> None:
    api = pg_api
    t = await api.json("POST", URL, "admin", status=201, json=_station(api, validFrom=_at(api, 30)))
    changed = await api.json("PATCH", f"{URL}/{t['id']}", "admin", json={
        "pricePerKwhCentavos": 210, "validFrom": _at(api, 45), "name": "renamed"})
    assert changed["id"] == t["id"] and changed["pricePerKwhCentavos"] == 210
    assert changed["name"] == "renamed" and changed["replacesId"] is None


async def test_patch_prices_of_tariff_in_effect_opens_a_successor(pg_api: Api) -> None:
    api = pg_api
    t = await api.json("POST", URL, "admin", status=201, json=_station(api))
    api.clock.advance(120)
    problem = await api.json("PATCH", f"{URL}/{t['id']}", "admin", status=409,
                             json={"validFrom": _at(api, 5)})
    assert "validFrom" in problem["detail"]
    successor = await api.json("PATCH", f"{URL}/{t['id']}", "admin",
                               json={"pricePerKwhCentavos": 300})
    assert successor["id"] != t["id"] and successor["replacesId"] == t["id"]
    assert successor["pricePerKwhCentavos"] == 300 and successor["sessionFeeCentavos"] == 200
    old = await api.json("GET", f"{URL}/{t['id']}", "admin")
    assert old["pricePerKwhCentavos"] == 180 and old["validTo"] == successor["validFrom"]
    await api.json("PATCH", f"{URL}/{t['id']}", "admin", status=409,
                   json={"pricePerKwhCentavos": 1})  # ended: its prices stay
    audit = api.ctx.audit
    assert audit is not None
    last = (await audit.recent(1, target_type="tariff"))[0].entry
    assert last.action == "tariff.update" and last.details["result"] == successor["id"]


async def test_delete(pg_api: Api) -> None:
    api = pg_api
    future = await api.json("POST", URL, "admin", status=201,
                            json=_station(api, validFrom=_at(api, 30)))
    assert (await api.call("DELETE", f"{URL}/{future['id']}", "admin")).status == 204
    await api.json("GET", f"{URL}/{future['id']}", "admin", status=404)  # never in effect: gone
    live = await api.json("POST", URL, "admin", status=201, json=_station(api))
    api.clock.advance(60)
    assert (await api.call("DELETE", f"{URL}/{live['id']}", "admin")).status == 204
    kept = await api.json("GET", f"{URL}/{live['id']}", "admin")
    assert kept["deletedAt"] is not None and kept["validTo"] == kept["deletedAt"]
    assert (await api.json("GET", URL, "admin"))["total"] == 0
    assert (await api.json("GET", f"{URL}?deleted=true", "admin"))["total"] == 1
    await api.json("DELETE", f"{URL}/{live['id']}", "admin", status=409)
    await api.json("DELETE", f"{URL}/00000000-0000-0000-0000-000000000000", "admin",
                   status=404)
    await api.json("PATCH", f"{URL}/not-a-uuid", "admin", status=404, json={})
    # the deleted one no longer blocks a new tariff from now on
    await api.json("POST", URL, "admin", status=201, json=_station(api))
