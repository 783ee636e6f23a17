"""Firmware jobs through the real server and the simulator: a job to Completed (the boot with
the new version), each failure status, a retry that succeeds, a rejected UpdateFirmware, a
station offline during install (back in time, and too late), cancel, PublishFirmware,
campaigns (50 stations stopped by the failure threshold; pause/resume/cancel) and, last, a
node restart mid-download. One server for the module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import asyncpg
import pytest
from ocpp.v201 import call

from sigec_actors.simulator.firmware import FirmwareOptions
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

FAST = {  # short phases so that timeouts and retries happen within a test
    "SIGEC_FIRMWARE__TICK_S": "0.2", "SIGEC_FIRMWARE__RESEND_S": "0.5",
    "SIGEC_FIRMWARE__BOOT_TIMEOUT_S": "2", "SIGEC_FIRMWARE__CAMPAIGN_TICK_S": "0.3",
    "SIGEC_FIRMWARE__CLAIM_INTERVAL_S": "2"}
TERMINAL = ("Completed", "Failed", "Cancelled")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("firmware")
    proc = ServerProcess(tmp / "data", server_env(tmp / "data", DATABASE_URL=pg_dsn,
                                                  NATS_URL=nats_url, **FAST),
                         tmp / "server.log")
    proc.start()
    proc.dsn = pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


@pytest.fixture
async def admin(server: ServerProcess) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        yield api


async def register(server: ServerProcess, station_id: str) -> None:
    """A profile-0 station straight into the tables (no password hash: the tests' time)."""
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", station_id)
        await conn.execute("INSERT INTO station_credentials (charge_point_id, security_profile)"
                           " VALUES ($1, 0)", station_id)
    finally:
        await conn.close()


async def station(server: ServerProcess, admin: Api, firmware: FirmwareOptions | None = None,
                  prefix: str = "FW", **config: Any) -> SimulatedStation:
    station_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await register(server, station_id)
    sim = await SimulatedStation.connect(server.ocpp, SimConfig(
        station_id, firmware=firmware or FirmwareOptions(step_s=0.02), **config))
    assert (await sim.boot()).status == "Accepted"
    return sim


async def update(admin: Api, station_id: str, status: int = 202, **body: Any) -> Any:
    payload = {"location": "https://fw.example.com/sim-2.0.0.bin", "version": "2.0.0"} | body
    code, answer = await admin.call("POST", f"/api/v1/devices/{station_id}/firmware/update",
                                    payload)
    assert code == status, answer
    return answer


async def until(admin: Api, path: str, done: Any, tries: int = 150) -> Any:
    body = None
    for _ in range(tries):
        code, body = await admin.call("GET", path)
        assert code == 200, body
        if done(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never got there: {body}")


async def finished(admin: Api, job_id: str) -> Any:
    return await until(admin, f"/api/v1/firmware/jobs/{job_id}",
                       lambda b: b["status"] in TERMINAL)


def steps(job: Any) -> list[str]:
    return [h["status"] for h in job["history"]]


async def test_a_job_runs_to_completed_when_the_station_boots_the_new_version(
        server: ServerProcess, admin: Api) -> None:
    sim = await station(server, admin)
    async with sim:
        accepted = await update(admin, sim.config.station_id)
        assert accepted["status"] == "Requested" and accepted["requestId"] >= 1000
        job = await finished(admin, accepted["jobId"])
        assert job["status"] == "Completed", job
        assert job["attempts"] == 1 and job["requestId"] == accepted["requestId"]
        assert steps(job) == ["Accepted", "Downloading", "Downloaded", "Installing",
                              "InstallRebooting", "Boot", "Completed"]
        for _ in range(50):  # Installed follows the boot: the job no longer needs it
            if sim.firmware_played[-1] == "Installed":
                break
            await asyncio.sleep(0.05)
        assert sim.firmware_played[-1] == "Installed"
        code, device = await admin.call(
            "GET", f"/api/v1/devices/{sim.config.station_id}/firmware/status")
        assert code == 200 and device["firmwareVersion"] == "2.0.0"
        assert device["job"]["jobId"] == accepted["jobId"]
    subjects = await _events(server, accepted["jobId"])
    assert subjects[0] == "firmware.update.started"
    assert subjects[-1] == "firmware.update.completed"
    assert "firmware.update.progress" in subjects


@pytest.mark.parametrize("failure", ["DownloadFailed", "InvalidSignature",
                                     "InstallVerificationFailed", "InstallationFailed"])
async def test_each_failure_status_fails_the_job_with_an_alert(
        server: ServerProcess, admin: Api, failure: str) -> None:
    sim = await station(server, admin, FirmwareOptions(step_s=0.02, fail=failure))
    async with sim:
        accepted = await update(admin, sim.config.station_id, signature="c2ln")
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == "Failed" and job["error"] == f"station reported {failure}", job
    assert steps(job)[-2:] == [failure, "Failed"]
    assert (await _events(server, accepted["jobId"]))[-1] == "firmware.update.failed"
    code, alerts = await admin.call(
        "GET", f"/api/v1/admin/alerts?chargePointId={sim.config.station_id}")
    assert code == 200, alerts
    assert [a["kind"] for a in alerts["items"]] == ["firmware_failed"]  # one, not one per path
    assert alerts["items"][0]["details"]["jobId"] == accepted["jobId"]


async def test_a_failed_attempt_is_retried_and_the_retry_succeeds(
        server: ServerProcess, admin: Api) -> None:
    sim = await station(server, admin, FirmwareOptions(step_s=0.02, fail="DownloadFailed",
                                                       fail_attempts=1))
    async with sim:
        accepted = await update(admin, sim.config.station_id, retries=2, retryIntervalS=1)
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == "Completed" and job["attempts"] == 2, job
    history = steps(job)
    assert history[:4] == ["Accepted", "Downloading", "DownloadFailed", "Retrying"]
    assert history.count("Accepted") == 2 and sim.stats.commands["UpdateFirmware"] == 2


async def test_a_rejected_update_fails_at_once(server: ServerProcess, admin: Api) -> None:
    sim = await station(server, admin, refuse=frozenset({"UpdateFirmware"}))
    async with sim:
        accepted = await update(admin, sim.config.station_id, retries=3)
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == "Failed"
    assert job["error"] == "station answered UpdateFirmware with Rejected"


@pytest.mark.parametrize(("offline_s", "status"), [(0.3, "Completed"), (3.5, "Failed")])
async def test_a_station_offline_during_install(server: ServerProcess, admin: Api,
                                                offline_s: float, status: str) -> None:
    """Back before the boot deadline (2 s here) it completes; later, the job fails saying so."""
    sim = await station(server, admin, FirmwareOptions(step_s=0.02, offline_s=offline_s))
    async with sim:
        accepted = await update(admin, sim.config.station_id)
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == status, job
    if status == "Failed":
        assert "no BootNotification reporting 2.0.0" in job["error"]
        assert "offline during install" in job["error"]


async def test_a_station_offline_at_the_request_gets_the_update_when_it_boots(
        server: ServerProcess, admin: Api) -> None:
    station_id = f"FWO-{uuid.uuid4().hex[:8]}"
    await register(server, station_id)
    accepted = await update(admin, station_id)
    path = f"/api/v1/firmware/jobs/{accepted['jobId']}"
    waiting = await until(admin, path, lambda b: b["error"] is not None)
    assert waiting["status"] == "Requested" and "StationOffline" in waiting["error"], waiting
    sim = await SimulatedStation.connect(server.ocpp, SimConfig(
        station_id, firmware=FirmwareOptions(step_s=0.02)))
    async with sim:
        await sim.boot()
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == "Completed" and job["attempts"] == 1, job


async def test_cancel_and_a_second_job_while_one_is_live(server: ServerProcess,
                                                         admin: Api) -> None:
    sim = await station(server, admin, FirmwareOptions(step_s=30.0))
    station_id = sim.config.station_id
    async with sim:
        accepted = await update(admin, station_id)
        await until(admin, f"/api/v1/firmware/jobs/{accepted['jobId']}",
                    lambda b: b["status"] == "Accepted")
        conflict = await update(admin, station_id, status=409)
        assert accepted["jobId"] in conflict["detail"]
        code, job = await admin.call("POST", f"/api/v1/firmware/jobs/{accepted['jobId']}/cancel")
        assert code == 200 and job["status"] == "Cancelled", job
        code, again = await admin.call("POST",
                                       f"/api/v1/firmware/jobs/{accepted['jobId']}/cancel")
        assert code == 409, again
        await update(admin, station_id)  # nothing live any more
    code, _ = await admin.call("GET", f"/api/v1/firmware/jobs/{uuid.uuid4()}")
    assert code == 404
    await update(admin, "NO-SUCH-STATION", status=404)


async def test_publish_firmware_and_its_status_reports(server: ServerProcess,
                                                       admin: Api) -> None:
    sim = await station(server, admin)
    station_id = sim.config.station_id
    async with sim:
        code, answer = await admin.call("POST", f"/api/v1/devices/{station_id}/firmware/publish",
                                        {"location": "https://fw.example.com/lc-3.1.bin",
                                         "checksum": "0" * 32})
        assert code == 200 and answer == {"status": "Accepted"}, answer
        body = await until(admin, f"/api/v1/devices/{station_id}/firmware/publications",
                           lambda b: b["items"] and b["items"][0]["status"] == "Published")
        assert body["items"][0]["locations"] == ["https://fw.example.com/lc-3.1.bin"]
        code, answer = await admin.call(
            "POST", f"/api/v1/devices/{station_id}/firmware/unpublish", {"checksum": "0" * 32})
        assert code == 200 and answer == {"status": "Unpublished"}, answer


async def _events(server: ServerProcess, job_id: str) -> list[str]:
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        rows = await conn.fetch("SELECT subject FROM event_outbox WHERE payload->>'jobId' = $1"
                                " ORDER BY seq", job_id)
    finally:
        await conn.close()
    return [r["subject"] for r in rows]


async def test_a_campaign_over_50_stations_stops_itself_past_the_failure_threshold(
        server: ServerProcess, admin: Api) -> None:
    """The first 20 stations update; from the 21st on every download fails: the campaign
    (10 at a time, threshold 10 %) stops once more than 10 % of its started jobs failed,
    and the stations after that never get UpdateFirmware."""
    sims = await asyncio.gather(*(station(server, admin, FirmwareOptions(
        step_s=0.02, fail=None if i < 20 else "DownloadFailed"), prefix=f"FWC{i:02d}")
        for i in range(50)))
    try:
        code, campaign = await admin.call("POST", "/api/v1/admin/firmware/campaigns", {
            "stationIds": [s.config.station_id for s in sims],
            "location": "https://fw.example.com/sim-2.0.0.bin", "version": "2.0.0",
            "maxConcurrent": 10, "failureThresholdPercent": 10})
        assert code == 201 and campaign["total"] == 50, campaign
        path = f"/api/v1/admin/firmware/campaigns/{campaign['campaignId']}"
        done = await until(admin, path, lambda b: b["status"] != "Running" and b["live"] == 0,
                           tries=400)
    finally:
        await asyncio.gather(*(s.close() for s in sims))
    assert done["status"] == "Stopped", done
    assert "jobs failed" in done["stopReason"] and done["failureRatePercent"] > 10
    assert done["counts"]["Completed"] == 20
    assert done["pending"] > 0  # the campaign stopped before every station got a job
    untouched = [s for s in sims[20:] if not s.stats.commands["UpdateFirmware"]]
    assert len(untouched) >= done["pending"]
    code, alerts = await admin.call(
        "GET", "/api/v1/admin/alerts?kind=firmware_campaign_stopped")
    assert code == 200
    assert any(a["details"]["campaignId"] == campaign["campaignId"] for a in alerts["items"])


async def test_a_campaign_by_filter_pauses_resumes_and_cancels(
        server: ServerProcess, admin: Api) -> None:
    vendor = f"V{uuid.uuid4().hex[:6]}"
    sims = [await station(server, admin, FirmwareOptions(step_s=0.1), vendor=vendor)
            for _ in range(4)]
    try:
        code, campaign = await admin.call("POST", "/api/v1/admin/firmware/campaigns", {
            "filter": {"vendor": vendor}, "location": "https://fw.example.com/sim-2.0.0.bin",
            "version": "2.0.0", "maxConcurrent": 1, "failureThresholdPercent": 50})
        assert code == 201 and campaign["total"] == 4, campaign
        path = f"/api/v1/admin/firmware/campaigns/{campaign['campaignId']}"
        code, paused = await admin.call("POST", path + "/pause")
        assert code == 200 and paused["status"] == "Paused", paused
        await asyncio.sleep(1.2)  # a job takes ~0.6 s: a running campaign would start more
        code, still = await admin.call("GET", path)
        assert still["status"] == "Paused" and still["pending"] >= 3, still
        code, resumed = await admin.call("POST", path + "/resume")
        assert code == 200 and resumed["status"] == "Running"
        await until(admin, path, lambda b: b["counts"].get("Completed", 0) >= 2)
        code, cancelled = await admin.call("POST", path + "/cancel")
        assert code == 200 and cancelled["status"] == "Cancelled", cancelled
        code, refused = await admin.call("POST", path + "/resume")
        assert code == 409, refused
    finally:
        await asyncio.gather(*(s.close() for s in sims))
    code, none = await admin.call("POST", "/api/v1/admin/firmware/campaigns", {
        "filter": {"vendor": "nobody"}, "location": "https://x.example/a-1.0.bin",
        "version": "1.0", "maxConcurrent": 1, "failureThresholdPercent": 5})
    assert code == 422, none


async def _notify(sim: SimulatedStation, status: str, request_id: int) -> None:
    await sim.call(call.FirmwareStatusNotification(status=status, request_id=request_id),
                   suppress=False)


async def test_a_node_restart_mid_download_resumes_the_job(server: ServerProcess) -> None:
    """Last in the module: it restarts the module's server (same node name, database and
    lease). The job's actor is back before the station reconnects, and the job goes on to
    Completed without a second UpdateFirmware."""
    station_id = f"FWR-{uuid.uuid4().hex[:6]}"
    slow = FirmwareOptions(step_s=3600.0)  # the test plays the station's reports itself
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        await register(server, station_id)
        sim = await SimulatedStation.connect(server.ocpp, SimConfig(station_id, firmware=slow))
        async with sim:
            await sim.boot()
            accepted = await update(admin, station_id)
            job_path = f"/api/v1/firmware/jobs/{accepted['jobId']}"
            await until(admin, job_path, lambda b: b["status"] == "Accepted")
            await _notify(sim, "Downloading", accepted["requestId"])
            await until(admin, job_path, lambda b: b["status"] == "Downloading")
    assert await asyncio.to_thread(server.stop) == 0, server.log()
    await asyncio.to_thread(server.start)
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        code, tree = await admin.call("GET", "/api/v1/admin/actors")
        assert code == 200 and accepted["jobId"] in str(tree), tree  # resumed at start
        sim = await SimulatedStation.connect(server.ocpp, SimConfig(station_id, firmware=slow))
        async with sim:
            await sim.boot()
            for status in ("Downloaded", "Installing", "InstallRebooting"):
                await _notify(sim, status, accepted["requestId"])
            sim.config.firmware_version = "2.0.0"
            await sim.boot("FirmwareUpdate")
            job = await finished(admin, accepted["jobId"])
    assert job["status"] == "Completed", job
    assert job["attempts"] == 1 and sim.stats.commands["UpdateFirmware"] == 0  # not resent
    assert steps(job)[:2] == ["Accepted", "Downloading"]
    assert steps(job)[-2:] == ["Boot", "Completed"]
