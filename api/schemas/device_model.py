"""Bodies and answers of the device-model, diagnostics and monitoring routes (OCPP B, N)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from api.schemas.base import Body, Out
from sigec_actors.ocpp.generated import v201

Items = Annotated[int, msgspec.Meta(ge=1, le=100)]
Severity = Annotated[int, msgspec.Meta(ge=0, le=9)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class ReportBody(Body, frozen=True, kw_only=True):
    """`type` (GetBaseReport) or `criteria`/`componentVariables` (GetReport), not both."""

    type: v201.ReportBaseEnum | None = None
    criteria: Annotated[list[v201.ComponentCriterionEnum],
                        msgspec.Meta(min_length=1, max_length=4)] | None = None
    component_variables: Annotated[list[v201.ComponentVariable],
                                   msgspec.Meta(min_length=1, max_length=100)] | None = None


class RequestedOut(Out, frozen=True, kw_only=True):
    """A request the station answers in parts later: its requestId and the station's status."""

    request_id: int
    status: str
    status_info: v201.StatusInfo | None = None


class PartOut(Out, frozen=True, kw_only=True):
    seq_no: int
    tbc: bool
    generated_at: datetime
    items: int
    data: Any


class ReportOut(Out, frozen=True, kw_only=True):
    """A stored report: `complete` once parts 0..n arrived and the last one has tbc false."""

    request_id: int
    status: str | None
    params: dict[str, Any]
    requested_at: datetime
    complete: bool
    parts: list[PartOut]


class CustomerInformationOut(ReportOut, frozen=True, kw_only=True):
    data: str  # the parts' text in seqNo order


class VariablesQuery(Body, frozen=True, kw_only=True):
    component: Name | None = None
    variable: Name | None = None


class VariableOut(Out, frozen=True, kw_only=True):
    key: str
    component: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable: str
    variable_instance: str | None = None
    attribute_type: str
    value: str | None = None
    mutability: str | None = None
    persistent: bool | None = None
    constant: bool | None = None
    characteristics: dict[str, Any] | None = None
    reboot_required: bool
    updated_at: datetime | None = None


Value = Annotated[str, msgspec.Meta(max_length=1000)]


class VariableItem(Body, frozen=True, kw_only=True):
    """One item of /variables/get (`value` is accepted, so the same items may be sent to
    /variables/set, and not used)."""

    component: v201.Component
    variable: v201.Variable
    attribute_type: v201.AttributeEnum | None = None
    value: Value | None = None


class SetVariableItem(Body, frozen=True, kw_only=True):
    component: v201.Component
    variable: v201.Variable
    attribute_type: v201.AttributeEnum | None = None
    value: Value


class GetVariablesBody(Body, frozen=True, kw_only=True):
    items: Annotated[list[VariableItem], msgspec.Meta(min_length=1, max_length=100)]


class SetVariablesBody(Body, frozen=True, kw_only=True):
    items: Annotated[list[SetVariableItem], msgspec.Meta(min_length=1, max_length=100)]


class GetVariablesOut(Out, frozen=True, kw_only=True):
    results: list[v201.GetVariableResult]


class SetVariablesOut(Out, frozen=True, kw_only=True):
    results: list[v201.SetVariableResult]
    reboot_required: bool  # some item only takes effect after a reset


class LogBody(Body, frozen=True, kw_only=True):
    log_type: v201.LogEnum
    oldest_timestamp: datetime | None = None
    latest_timestamp: datetime | None = None
    retries: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    retry_interval: Annotated[int, msgspec.Meta(ge=0, le=86_400)] | None = None


class LogRequestedOut(Out, frozen=True, kw_only=True):
    request_id: int
    status: str
    filename: str | None = None


class LogStatusOut(Out, frozen=True, kw_only=True):
    status: str
    at: datetime


class LogOut(Out, frozen=True, kw_only=True):
    request_id: int
    log_type: str
    status: str | None
    filename: str | None
    requested_at: datetime
    expires_at: datetime
    uploaded_at: datetime | None
    size_bytes: int | None
    history: list[LogStatusOut]
    download_url: str | None  # set once the file is stored


class UploadedOut(Out, frozen=True, kw_only=True):
    request_id: int
    size_bytes: int


class MonitorItem(Body, frozen=True, kw_only=True):
    id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    transaction: bool | None = None
    value: float
    type: v201.MonitorEnum
    severity: Severity
    component: v201.Component
    variable: v201.Variable


class MonitoringBody(Body, frozen=True, kw_only=True):
    items: Annotated[list[MonitorItem], msgspec.Meta(min_length=1, max_length=100)]


class MonitoringResultOut(Out, frozen=True, kw_only=True):
    results: list[v201.SetMonitoringResult]


class ClearMonitoringQuery(Body, frozen=True, kw_only=True):
    ids: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,9}(,[0-9]{1,9}){0,99}$",
                                     description="Monitor ids, comma-separated")]


class ClearMonitoringOut(Out, frozen=True, kw_only=True):
    results: list[v201.ClearMonitoringResult]


class MonitoringBaseBody(Body, frozen=True, kw_only=True):
    monitoring_base: v201.MonitoringBaseEnum


class MonitoringLevelBody(Body, frozen=True, kw_only=True):
    severity: Severity


class MonitoringReportBody(Body, frozen=True, kw_only=True):
    criteria: Annotated[list[v201.MonitoringCriterionEnum],
                        msgspec.Meta(min_length=1, max_length=3)] | None = None
    component_variables: Annotated[list[v201.ComponentVariable],
                                   msgspec.Meta(min_length=1, max_length=100)] | None = None


class MonitorOut(Out, frozen=True, kw_only=True):
    id: int
    component: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable: str
    variable_instance: str | None = None
    type: str
    value: float
    severity: int
    transaction: bool


class EventOut(Out, frozen=True, kw_only=True):
    event_id: int
    occurred_at: datetime
    generated_at: datetime
    seq_no: int
    trigger: str
    notification_type: str
    component: str
    variable: str
    evse_id: int | None
    actual_value: str
    cleared: bool | None
    severity: int | None
    variable_monitoring_id: int | None
    data: dict[str, Any]


class EventPage(Out, frozen=True, kw_only=True):
    items: list[EventOut]
    total: int


class CustomerInformationBody(Body, frozen=True, kw_only=True):
    """Exactly one of idToken, customerIdentifier, customerCertificate names the customer."""

    report: bool
    clear: bool
    id_token: v201.IdToken | None = None
    customer_identifier: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    customer_certificate: v201.CertificateHashData | None = None
