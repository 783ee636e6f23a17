"""Certificates on a station (admin): list (GetInstalledCertificateIds), install, delete, and
the certificates our CA issued to it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from aiohttp import web

from api.errors import InvalidInput, NotFound
from api.routes.pki import one_certificate, pki_of
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.security import authenticate
from api.services import services_of
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201

resource = Resource("certificates", authenticate)
routes = resource.table
BASE = "/api/v1/devices/{id}/certificates"
ERRORS = (404, 409, 422, 502, 503, 504)
Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Fa-f]{1,128}$")]
SERIAL_PATH = {"serialNumber": {"type": "string", "pattern": "^[0-9A-Fa-f]{1,40}$"}}


class InstalledQuery(Body, frozen=True, kw_only=True):
    """`type`: only certificates of this use (all when absent)."""

    type: v201.GetCertificateIdUseEnum | None = None


class InstallBody(Body, frozen=True, kw_only=True):
    certificate_type: v201.InstallCertificateUseEnum
    pem: Annotated[str, msgspec.Meta(min_length=1, max_length=5500)]


class DeleteQuery(Body, frozen=True, kw_only=True):
    """The certificate's hash data as GetInstalledCertificateIds reported it."""

    hash_algorithm: v201.HashAlgorithmEnum = v201.HashAlgorithmEnum.SHA256
    issuer_name_hash: Hex
    issuer_key_hash: Hex


class IssuedOut(Out, frozen=True, kw_only=True):
    serial_number: str
    certificate_type: str
    subject: str
    valid_from: datetime
    valid_to: datetime
    status: str
    renewal_requested_at: datetime | None


async def _send(call: Call, request: msgspec.Struct) -> web.Response:
    answer = await services_of(call.request).commands.send(call.path("id"), request)
    return json_response(answer)


@resource.get(BASE, "GetInstalledCertificateIds (optionally of one type)", role=Role.ADMIN,
              query=InstalledQuery, response=v201.GetInstalledCertificateIdsResponse,
              errors=ERRORS)
async def installed(call: Call) -> web.Response:
    kind = call.query(InstalledQuery).type
    return await _send(call, v201.GetInstalledCertificateIdsRequest(
        certificate_type=None if kind is None else (kind,)))


@resource.post(BASE, "InstallCertificate (a root of the given use, PEM)", role=Role.ADMIN,
               body=InstallBody, response=v201.InstallCertificateResponse, errors=ERRORS)
async def install(call: Call) -> web.Response:
    body = call.body(InstallBody)
    one_certificate(body.pem)  # 422 before anything is sent
    return await _send(call, v201.InstallCertificateRequest(
        certificate_type=body.certificate_type, certificate=body.pem))


@resource.delete(BASE + "/{serialNumber}", "DeleteCertificate (serial and issuer hashes)",
                 role=Role.ADMIN, query=DeleteQuery, response=v201.DeleteCertificateResponse,
                 errors=ERRORS, path_types=SERIAL_PATH)
async def delete(call: Call) -> web.Response:
    serial = call.path("serialNumber")
    if not all(c in "0123456789abcdefABCDEF" for c in serial) or not 0 < len(serial) <= 40:
        raise InvalidInput("serialNumber", "a hexadecimal serial number", "path")
    query = call.query(DeleteQuery)
    return await _send(call, v201.DeleteCertificateRequest(
        certificate_hash_data=v201.CertificateHashData(
            hash_algorithm=query.hash_algorithm, issuer_name_hash=query.issuer_name_hash,
            issuer_key_hash=query.issuer_key_hash, serial_number=serial)))


@resource.get(BASE + "/issued", "Certificates our CA issued to the station, newest first",
              role=Role.ADMIN, response=list[IssuedOut], errors=(404, 503))
async def issued(call: Call) -> web.Response:
    pki = pki_of(call)
    station_id = call.path("id")
    if call.ctx.stations is None or await call.ctx.stations.get(station_id) is None:
        raise NotFound("station", station_id)
    rows = await pki.store.issued(station_id)
    return json_response([IssuedOut(
        serial_number=r.serial_number, certificate_type=r.certificate_type, subject=r.subject,
        valid_from=r.valid_from, valid_to=r.valid_to, status=r.status,
        renewal_requested_at=r.renewal_requested_at) for r in rows])
