"""Firmware (operator): update jobs backed by FirmwareJob actors, campaigns, PublishFirmware."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import msgspec
from aiohttp import web

from api.context import AppContext
from api.errors import Conflict, InvalidInput, NotConfigured, NotFound
from api.routes import firmware_schemas as f
from api.routing import Call, Resource, json_response
from api.security import authenticate
from api.services import need, services_of
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.firmware import errors
from sigec_actors.firmware.campaign import CampaignStatus
from sigec_actors.firmware.ports import FirmwareControl
from sigec_actors.firmware.requests import CampaignRequest, JobRequest
from sigec_actors.firmware.wiring import EXTRAS_KEY
from sigec_actors.ocpp.generated import v201

resource = Resource("firmware", authenticate)
routes = resource.table
DEVICE = "/api/v1/devices/{id}/firmware"
JOB = "/api/v1/firmware/jobs/{id}"
CAMPAIGNS = "/api/v1/admin/firmware/campaigns"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
COMMAND_ERRORS = (404, 409, 502, 503, 504)
ACTIONS = {"pause": CampaignStatus.PAUSED, "resume": CampaignStatus.RUNNING,
           "cancel": CampaignStatus.CANCELLED}


def firmware_of(ctx: AppContext) -> FirmwareControl:
    control = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(control, FirmwareControl):
        raise NotConfigured("firmware jobs")
    return control


@contextmanager
def _mapped() -> Iterator[None]:
    """The firmware package's typed errors as HTTP problems."""
    try:
        yield
    except errors.UnknownJob as exc:
        raise NotFound("firmware job", exc.job_id) from None
    except errors.UnknownCampaign as exc:
        raise NotFound("firmware campaign", exc.campaign_id) from None
    except errors.JobFinished as exc:
        raise Conflict("firmware job", exc.job_id, f"is already {exc.status}") from None
    except errors.CampaignTransition as exc:
        raise Conflict("firmware campaign", exc.campaign_id,
                       f"is {exc.status}: cannot {exc.wanted}") from None
    except errors.NoStations as exc:
        raise InvalidInput("stationIds", str(exc)) from None


def _uuid(call: Call, kind: str) -> UUID:
    try:
        return UUID(call.path("id"))
    except ValueError:
        raise NotFound(kind, call.path("id")) from None


async def _audit(call: Call, action: str, target_type: str, target: str,
                 details: dict[str, object]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, target_type, target, details=details,
        ip=call.request.remote))


@resource.post(DEVICE + "/update", "Start a firmware job (UpdateFirmware, tracked to the boot)",
               role=Role.OPERATOR, body=f.UpdateBody, response=f.JobAccepted, status=202,
               errors=(404, 409, 503))
async def update(call: Call) -> web.Response:
    station_id, body = call.path("id"), call.body(f.UpdateBody)
    service = firmware_of(call.ctx)
    await services_of(call.request).devices.firmware(station_id)  # 404 for unknown stations
    live = await service.latest(station_id)
    if live is not None:
        raise Conflict("station", station_id, f"has a live firmware job {live.job_id}")
    state = await service.start(JobRequest(
        station_id=station_id, location=body.location, version=body.version,
        retrieve_at=body.retrieve_at, install_at=body.install_at,
        signing_certificate=body.signing_certificate, signature=body.signature,
        retries=body.retries, retry_interval_s=body.retry_interval_s,
        requested_by=call.caller.sub))
    await _audit(call, "firmware.update", "station", station_id,
                 {"jobId": str(state.job_id), "location": body.location,
                  "version": body.version})
    return json_response(f.JobAccepted(job_id=state.job_id, request_id=state.request_id,
                                       status=state.status.value), status=202)


@resource.get(DEVICE + "/status", "Installed firmware and the station's latest firmware job",
              role=Role.OPERATOR, response=f.StationFirmwareOut, errors=(404, 503))
async def status(call: Call) -> web.Response:
    station_id = call.path("id")
    service = firmware_of(call.ctx)
    device = await services_of(call.request).devices.firmware(station_id)
    job = await service.latest_any(station_id)
    return json_response(f.StationFirmwareOut(
        station_id=station_id, firmware_version=device.firmware_version, online=device.online,
        last_report=device.last_report, job=f.job_out(job) if job else None))


@resource.get(JOB, "One firmware job with its history", role=Role.OPERATOR,
              response=f.JobOut, errors=(404, 503), path_types=UUID_PATH)
async def job(call: Call) -> web.Response:
    job_id = _uuid(call, "firmware job")
    with _mapped():
        return json_response(f.job_out(await firmware_of(call.ctx).job(job_id)))


@resource.post(JOB + "/cancel", "Cancel a firmware job", role=Role.OPERATOR,
               response=f.JobOut, errors=(404, 409, 503), path_types=UUID_PATH)
async def cancel(call: Call) -> web.Response:
    job_id = _uuid(call, "firmware job")
    with _mapped():
        state = await firmware_of(call.ctx).cancel(job_id, f"user {call.caller.sub}")
    await _audit(call, "firmware.cancel", "station", state.station_id,
                 {"jobId": str(job_id)})
    return json_response(f.job_out(state))


@resource.post(CAMPAIGNS, "Start a firmware campaign over stations (ids or a filter)",
               role=Role.OPERATOR, body=f.CampaignBody, response=f.CampaignOut, status=201,
               errors=(503,))
async def create_campaign(call: Call) -> web.Response:
    body = call.body(f.CampaignBody)
    if (body.station_ids is None) == (body.filter is None):
        raise InvalidInput("stationIds", "give either stationIds or filter")
    service = firmware_of(call.ctx)
    with _mapped():
        campaign = await service.create_campaign(CampaignRequest(
            station_ids=tuple(body.station_ids) if body.station_ids is not None else None,
            filter=msgspec.to_builtins(body.filter) if body.filter is not None else None,
            location=body.location, version=body.version, max_concurrent=body.max_concurrent,
            failure_threshold_percent=body.failure_threshold_percent, retries=body.retries,
            retry_interval_s=body.retry_interval_s, signature=body.signature,
            signing_certificate=body.signing_certificate, created_by=call.caller.sub))
        stored, counts = await service.campaign(campaign.campaign_id)
    await _audit(call, "firmware.campaign", "firmware_campaign", str(campaign.campaign_id),
                 {"stations": len(campaign.station_ids), "version": body.version})
    return json_response(f.campaign_out(stored, counts), status=201)


@resource.get(CAMPAIGNS + "/{id}", "A campaign with its jobs counted by status",
              role=Role.OPERATOR, response=f.CampaignOut, errors=(404, 503),
              path_types=UUID_PATH)
async def campaign(call: Call) -> web.Response:
    campaign_id = _uuid(call, "firmware campaign")
    with _mapped():
        return json_response(f.campaign_out(*await firmware_of(call.ctx).campaign(campaign_id)))


async def _change(call: Call, action: str) -> web.Response:
    campaign_id = _uuid(call, "firmware campaign")
    with _mapped():
        out = await firmware_of(call.ctx).change_campaign(
            campaign_id, ACTIONS[action], f"user {call.caller.sub}")
    await _audit(call, f"firmware.campaign_{action}", "firmware_campaign", str(campaign_id),
                 {})
    return json_response(f.campaign_out(*out))


@resource.post(CAMPAIGNS + "/{id}/pause", "Pause a campaign (its running jobs go on)",
               role=Role.OPERATOR, response=f.CampaignOut, errors=(404, 409, 503),
               path_types=UUID_PATH)
async def pause_campaign(call: Call) -> web.Response:
    return await _change(call, "pause")


@resource.post(CAMPAIGNS + "/{id}/resume", "Resume a paused campaign", role=Role.OPERATOR,
               response=f.CampaignOut, errors=(404, 409, 503), path_types=UUID_PATH)
async def resume_campaign(call: Call) -> web.Response:
    return await _change(call, "resume")


@resource.post(CAMPAIGNS + "/{id}/cancel",
               "Cancel a campaign (and its jobs no station has accepted yet)",
               role=Role.OPERATOR, response=f.CampaignOut, errors=(404, 409, 503),
               path_types=UUID_PATH)
async def cancel_campaign(call: Call) -> web.Response:
    return await _change(call, "cancel")


@resource.post(DEVICE + "/publish", "PublishFirmware (a local controller serves the image)",
               role=Role.OPERATOR, body=f.PublishBody, response=v201.PublishFirmwareResponse,
               errors=COMMAND_ERRORS)
async def publish(call: Call) -> web.Response:
    body = call.body(f.PublishBody)
    request = v201.PublishFirmwareRequest(
        location=body.location, checksum=body.checksum,
        request_id=await firmware_of(call.ctx).next_request_id(), retries=body.retries,
        retry_interval=body.retry_interval_s)
    return json_response(await services_of(call.request).commands.send(call.path("id"),
                                                                       request))


@resource.post(DEVICE + "/unpublish", "UnpublishFirmware", role=Role.OPERATOR,
               body=f.UnpublishBody, response=v201.UnpublishFirmwareResponse,
               errors=COMMAND_ERRORS)
async def unpublish(call: Call) -> web.Response:
    request = v201.UnpublishFirmwareRequest(checksum=call.body(f.UnpublishBody).checksum)
    return json_response(await services_of(call.request).commands.send(call.path("id"),
                                                                       request))


@resource.get(DEVICE + "/publications", "PublishFirmware status reports of a local controller",
              role=Role.OPERATOR, response=f.PublicationsOut, errors=(404, 503))
async def publications(call: Call) -> web.Response:
    station_id = call.path("id")
    control = firmware_of(call.ctx)
    await services_of(call.request).devices.firmware(station_id)
    rows = await control.publications(station_id)
    return json_response(f.PublicationsOut(items=[f.PublicationOut(
        request_id=r.request_id, status=r.status, locations=list(r.locations),
        updated_at=r.updated_at) for r in rows]))
