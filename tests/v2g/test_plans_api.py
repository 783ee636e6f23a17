"""The plans and admin-location routes on the in-memory API: ownership, validation, audit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from sigec_actors.testing.v2g_plans import InMemoryPlans
from sigec_actors.v2g.optimize import Window
from sigec_actors.v2g.plan_runner import EXTRAS_KEY as PLANS
from sigec_actors.v2g.plans import new_plan
from tests.api.harness import Api, start_api


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    api = await start_api()
    yield api
    await api.close()


async def test_a_user_lists_and_cancels_only_their_own_plans(api: Api) -> None:
    plans: InMemoryPlans = api.ctx.extras[PLANS]
    now = api.clock()
    window = Window(start=now + timedelta(hours=1), end=now + timedelta(hours=2), power_w=7000,
                    expected_wh=7000, price_centavos_per_mwh=51_966)
    plan = await plans.create(new_plan(
        uuid.uuid4(), user_id=uuid.UUID(api.ids["user"]), station_id="CP-1", evse_id=1,
        transaction_id=uuid.uuid4(), windows=[window], min_soc=40,
        departure_at=now + timedelta(hours=3), now=now))
    listed = await api.json("GET", "/api/v1/v2g/plans", "user")
    assert [(p["id"], p["status"], p["windows"][0]["priceCentavosPerKwh"]) for p in
            listed["items"]] == [(str(plan.id), "planned", 52)]
    assert (await api.json("GET", "/api/v1/v2g/plans", "other"))["items"] == []
    await api.json("DELETE", f"/api/v1/v2g/plans/{plan.id}", "other", status=404)
    await api.json("DELETE", "/api/v1/v2g/plans/not-a-uuid", "user", status=404)
    cancelled = await api.json("DELETE", f"/api/v1/v2g/plans/{plan.id}", "user")
    assert (cancelled["status"], cancelled["cancelReason"], cancelled["nextStartAt"]) == (
        "cancelled", "user", None)


async def test_admin_locations_validate_derive_and_audit(api: Api) -> None:
    url = "/api/v1/admin/locations"
    site = {"name": "Posto Recife", "latitude": -8.05, "longitude": -34.9}
    await api.json("POST", url, "operator", status=403, json=site)
    await api.json("POST", url, "admin", status=422, json={**site, "submarket": "SUL"})
    await api.json("POST", url, "admin", status=422, json={**site, "state": "Pernambuco"})
    plain = await api.json("POST", url, "admin", status=201, json=site)
    assert (plain["state"], plain["submarket"]) == (None, None)  # the default applies
    given = await api.json("POST", url, "admin", status=201,
                           json={**site, "state": "pe", "submarket": "SE"})
    assert (given["state"], given["submarket"]) == ("PE", "SE")  # an explicit one wins
    moved = await api.json("PATCH", f"{url}/{plain['id']}", "admin",
                           json={"address": "Rua da Aurora 10, Recife/PE, 50050-000"})
    assert (moved["state"], moved["submarket"]) == ("PE", "NE")
    cleared = await api.json("PATCH", f"{url}/{plain['id']}", "admin",
                             json={"submarket": None, "name": "Posto Recife 2"})
    assert (cleared["submarket"], cleared["name"], cleared["state"]) == (
        None, "Posto Recife 2", "PE")
    await api.json("PATCH", f"{url}/{uuid.uuid4()}", "admin", status=404, json={"name": "x"})
    await api.json("PATCH", f"{url}/{plain['id']}", "admin", status=422, json={"latitude": 91})
    entries = [(r.entry.action, r.entry.target_id) for r in api.audit.records
               if r.entry.target_type == "location"]
    assert entries == [("location.create", plain["id"]), ("location.create", given["id"]),
                       ("location.update", plain["id"]), ("location.update", plain["id"])]
