"""Requests the ChargePoint actor hands to a service (transactions, authorizer, reservations,
registered handlers): run the service under the persist deadline and frame the answer."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.charge_point.deadline import deadline
from sigec_actors.charge_point.effects import (
    HandleAuthorize,
    HandleOther,
    HandleReservationStatus,
    HandleTransactionEvent,
)
from sigec_actors.charge_point.ports import ChargePointDeps
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp.generated.v201 import (
    AuthorizeRequest,
    AuthorizeResponse,
    ReservationStatusUpdateResponse,
)
from sigec_actors.ocpp.rpc import encode_call_error, encode_call_result
from sigec_actors.runtime import Clock

Delegated = HandleTransactionEvent | HandleAuthorize | HandleReservationStatus | HandleOther
UNHANDLED: Mapping[type[msgspec.Struct], msgspec.Struct] = MappingProxyType({
    # the answer when no package registered a handler (a node without sigec_actors.ocpp_blocks)
    m.DataTransferRequest: m.DataTransferResponse(
        status=m.DataTransferStatusEnum.UNKNOWN_VENDOR_ID),
    m.MeterValuesRequest: m.MeterValuesResponse(),
    # (a node without sigec_actors.device_model: acknowledged, kept in the actor's memory only)
    m.NotifyReportRequest: m.NotifyReportResponse(),
    m.NotifyEventRequest: m.NotifyEventResponse(),
    m.LogStatusNotificationRequest: m.LogStatusNotificationResponse(),
})


async def _payload(effect: Delegated, station_id: str, deps: ChargePointDeps
                   ) -> msgspec.Struct | None:
    """The service's response; None when nobody handles the request (NotSupported)."""
    match effect:
        case HandleTransactionEvent(request=request):
            return await deps.transactions.handle(station_id, request)
        case HandleReservationStatus(request=request):
            handler = deps.reservations
            return (ReservationStatusUpdateResponse() if handler is None else
                    await handler.on_status_update(station_id, request))
        case HandleAuthorize(request=request):
            certified = deps.handlers.handler_for(AuthorizeRequest)  # Plug & Charge (pki)
            if certified is not None and (request.certificate
                                          or request.iso15118_certificate_hash_data):
                return await certified(station_id, request)
            info = await deps.authorizer.authorize(station_id, request.id_token)
            return AuthorizeResponse(id_token_info=info)
        case HandleOther(request=request):
            answer = deps.handlers.handler_for(type(request))
            if answer is None:
                return UNHANDLED.get(type(request))
            return await answer(station_id, request)


async def delegated_frame(effect: Delegated, station_id: str, deps: ChargePointDeps,
                          clock: Clock, log: Any) -> tuple[bytes, bool]:
    """The frame answering `effect`'s CALL, and whether the request was handled (stored)."""
    mid = effect.message_id
    limit = (deps.handlers.time_limit_for(type(effect.request))
             if isinstance(effect, HandleOther) else None)
    try:
        async with deadline(clock, limit or deps.persist_timeout_s):
            payload = await _payload(effect, station_id, deps)
    except PayloadError as exc:  # refused for good (an implausible value): never retried into
        log.warning("charge_point.handler_refused", action=type(effect).__name__,
                    code=exc.code.value, path=exc.path)
        return encode_call_error(mid, exc.code, exc.description), False
    except STORAGE_FAILURES as exc:  # not stored / not decided: the station retries later
        log.error("charge_point.handler_failed", action=type(effect).__name__, error=repr(exc))
        return encode_call_error(mid, ErrorCode.INTERNAL_ERROR,
                                 "could not process the request now, retry later"), False
    if payload is None:
        action = effect.action if isinstance(effect, HandleOther) else type(effect).__name__
        return encode_call_error(mid, ErrorCode.NOT_SUPPORTED,
                                 f"{action} is not supported by this CSMS"), False
    return encode_call_result(mid, payload), True
