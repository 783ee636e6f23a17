"""Firmware jobs through the real server and the simulator: a job to Completed (the boot with
the new version), each failure status, a retry that succeeds, a rejected UpdateFirmware, a
station offline during install (back in time, and too late), cancel, PublishFirmware."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from sigec_actors.simulator.firmware import FirmwareOptions
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

FAST = {  # short phases so that timeouts and retries happen within a test
    "SIGEC_FIRMWARE__TICK_S": "0.2", "SIGEC_FIRMWARE__RESEND_S": "0.5",
    "SIGEC_FIRMWARE__BOOT_TIMEOUT_S": "4", "SIGEC_FIRMWARE__CAMPAIGN_TICK_S": "0.3",
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


async def station(server: ServerProcess, admin: Api, firmware: FirmwareOptions | None = None,
                  prefix: str = "FW", **config: Any) -> SimulatedStation:
    station_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    password = await admin.add_station(station_id)
    sim = await SimulatedStation.connect(server.ocpp, SimConfig(
        station_id, firmware=firmware or FirmwareOptions(step_s=0.02), **config),
        password=password)
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
        assert sim.firmware_played[-1] == "Installed"  # after the boot: no longer tracked
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


@pytest.mark.parametrize(("offline_s", "status"), [(1.0, "Completed"), (8.0, "Failed")])
async def test_a_station_offline_during_install(server: ServerProcess, admin: Api,
                                                offline_s: float, status: str) -> None:
    """Back before the boot deadline (4 s here) it completes; later, the job fails saying so."""
    sim = await station(server, admin, FirmwareOptions(step_s=0.02, offline_s=offline_s))
    async with sim:
        accepted = await update(admin, sim.config.station_id)
        job = await finished(admin, accepted["jobId"])
    assert job["status"] == status, job
    if status == "Failed":
        assert "no BootNotification reporting 2.0.0" in job["error"]
        assert "offline during install" in job["error"]


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
