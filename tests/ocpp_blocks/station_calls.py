"""One valid CALL for each of the 25 OCPP 2.0.1 station -> CSMS messages (ocpp package types)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp.v201 import call

from tests.ocpp_blocks.ocpp_station import csr, now

STATION_ID = "E2E-OCPP-1"
BOOT = {"charging_station": {"vendorName": "ACME", "model": "E2E-201"}, "reason": "PowerUp"}
COMPONENT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
PROFILE = {"id": 31, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute", "chargingSchedule": [{
               "id": 1, "chargingRateUnit": "W", "startSchedule": "2026-01-01T00:00:00Z",
               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}]}


def _calls() -> dict[str, Callable[[], Any]]:
    return {
        "Authorize": lambda: call.Authorize(id_token={"idToken": "E2E-CARD",
                                                      "type": "ISO14443"}),
        "BootNotification": lambda: call.BootNotification(**BOOT),
        "ClearedChargingLimit": lambda: call.ClearedChargingLimit(
            charging_limit_source="EMS", evse_id=1),
        "DataTransfer": lambda: call.DataTransfer(vendor_id="com.unknown.vendor",
                                                  message_id="hello", data="x"),
        "FirmwareStatusNotification": lambda: call.FirmwareStatusNotification(status="Idle"),
        "Get15118EVCertificate": lambda: call.Get15118EVCertificate(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef", action="Install",
            exi_request="AAECAw=="),
        "GetCertificateStatus": lambda: call.GetCertificateStatus(ocsp_request_data={
            "hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64, "issuerKeyHash": "b" * 64,
            "serialNumber": "01", "responderURL": "http://127.0.0.1:9/ocsp"}),
        "Heartbeat": call.Heartbeat,
        "LogStatusNotification": lambda: call.LogStatusNotification(status="Idle"),
        "MeterValues": lambda: call.MeterValues(evse_id=0, meter_value=[{
            "timestamp": now(), "sampledValue": [
                {"value": 231.5, "measurand": "Voltage", "phase": "L1-N"},
                {"value": 12345.0}]}]),
        "NotifyChargingLimit": lambda: call.NotifyChargingLimit(
            charging_limit={"chargingLimitSource": "EMS"}, evse_id=1),
        "NotifyCustomerInformation": lambda: call.NotifyCustomerInformation(
            data="no data held", seq_no=0, generated_at=now(), request_id=77),
        "NotifyDisplayMessages": lambda: call.NotifyDisplayMessages(request_id=78, message_info=[
            {"id": 500, "priority": "NormalCycle",
             "message": {"format": "UTF8", "content": "Bem-vindo"}}]),
        "NotifyEVChargingNeeds": lambda: call.NotifyEVChargingNeeds(
            evse_id=1, charging_needs={"requestedEnergyTransfer": "AC_three_phase"}),
        "NotifyEVChargingSchedule": lambda: call.NotifyEVChargingSchedule(
            time_base=now(), evse_id=1, charging_schedule=PROFILE["chargingSchedule"][0]),
        "NotifyEvent": lambda: call.NotifyEvent(generated_at=now(), seq_no=0, event_data=[{
            "eventId": 1, "timestamp": now(), "trigger": "Alerting", "actualValue": "1",
            "eventNotificationType": "HardWiredNotification", **COMPONENT}]),
        "NotifyMonitoringReport": lambda: call.NotifyMonitoringReport(
            request_id=79, seq_no=0, generated_at=now()),
        "NotifyReport": lambda: call.NotifyReport(
            request_id=80, generated_at=now(), seq_no=0, report_data=[{
                **COMPONENT, "variableAttribute": [{"value": "300"}]}]),
        "PublishFirmwareStatusNotification": lambda: call.PublishFirmwareStatusNotification(
            status="Idle"),
        "ReportChargingProfiles": lambda: call.ReportChargingProfiles(
            request_id=81, charging_limit_source="CSO", evse_id=1, charging_profile=[PROFILE]),
        "ReservationStatusUpdate": lambda: call.ReservationStatusUpdate(
            reservation_id=424242, reservation_update_status="Expired"),
        "SecurityEventNotification": lambda: call.SecurityEventNotification(
            type="InvalidMessages", timestamp=now(), tech_info="e2e"),
        "SignCertificate": lambda: call.SignCertificate(csr=csr(STATION_ID)),
        "StatusNotification": lambda: call.StatusNotification(
            timestamp=now(), connector_status="Available", evse_id=1, connector_id=1),
        "TransactionEvent": lambda: call.TransactionEvent(
            event_type="Started", timestamp=now(), trigger_reason="CablePluggedIn", seq_no=0,
            transaction_info={"transactionId": "E2E-TX-1"}, evse={"id": 1, "connectorId": 1}),
    }


STATION_CALLS = _calls()
