"""One valid request payload for each of the 40 OCPP 2.0.1 CSMS -> station actions (raw JSON)."""

from __future__ import annotations

from typing import Any

from tests.ocpp_blocks.station_calls import PROFILE

LATER = "2030-01-01T00:00:00Z"
CV = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
TOKEN = {"idToken": "RAW-1", "type": "ISO14443"}
HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64, "issuerKeyHash": "b" * 64,
        "serialNumber": "01"}
NETWORK = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms/ocpp",
           "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}

CSMS_CALLS: dict[str, dict[str, Any]] = {
    "CancelReservation": {"reservationId": 1},
    "CertificateSigned": {"certificateChain": "-----BEGIN CERTIFICATE-----\nAA==\n"
                                              "-----END CERTIFICATE-----"},
    "ChangeAvailability": {"operationalStatus": "Operative"},
    "ClearCache": {},
    "ClearChargingProfile": {"chargingProfileId": 1},
    "ClearDisplayMessage": {"id": 1},
    "ClearVariableMonitoring": {"id": [1]},
    "CostUpdated": {"totalCost": 1.5, "transactionId": "raw-tx"},
    "CustomerInformation": {"requestId": 1, "report": True, "clear": False},
    "DataTransfer": {"vendorId": "com.acme"},
    "DeleteCertificate": {"certificateHashData": HASH},
    "GetBaseReport": {"requestId": 1, "reportBase": "FullInventory"},
    "GetChargingProfiles": {"requestId": 1, "chargingProfile": {
        "chargingProfilePurpose": "TxDefaultProfile"}},
    "GetCompositeSchedule": {"duration": 60, "evseId": 1},
    "GetDisplayMessages": {"requestId": 1},
    "GetInstalledCertificateIds": {},
    "GetLocalListVersion": {},
    "GetLog": {"logType": "DiagnosticsLog", "requestId": 1,
               "log": {"remoteLocation": "http://127.0.0.1:9/upload"}},
    "GetMonitoringReport": {"requestId": 1},
    "GetReport": {"requestId": 1},
    "GetTransactionStatus": {},
    "GetVariables": {"getVariableData": [CV]},
    "InstallCertificate": {"certificateType": "CSMSRootCertificate", "certificate": "x"},
    "PublishFirmware": {"location": "http://127.0.0.1:9/fw", "checksum": "abc", "requestId": 1},
    "RequestStartTransaction": {"idToken": TOKEN, "remoteStartId": 1},
    "RequestStopTransaction": {"transactionId": "raw-tx"},
    "ReserveNow": {"id": 1, "expiryDateTime": LATER, "idToken": TOKEN},
    "Reset": {"type": "OnIdle"},
    "SendLocalList": {"versionNumber": 9, "updateType": "Full"},
    "SetChargingProfile": {"evseId": 1, "chargingProfile": PROFILE},
    "SetDisplayMessage": {"message": {"id": 1, "priority": "NormalCycle",
                                      "message": {"format": "UTF8", "content": "raw"}}},
    "SetMonitoringBase": {"monitoringBase": "All"},
    "SetMonitoringLevel": {"severity": 5},
    "SetNetworkProfile": {"configurationSlot": 1, "connectionData": NETWORK},
    "SetVariableMonitoring": {"setMonitoringData": [
        {"value": 1, "type": "Delta", "severity": 5, **CV}]},
    "SetVariables": {"setVariableData": [{"attributeValue": "300", **CV}]},
    "TriggerMessage": {"requestedMessage": "Heartbeat"},
    "UnlockConnector": {"evseId": 1, "connectorId": 1},
    "UnpublishFirmware": {"checksum": "abc"},
    "UpdateFirmware": {"requestId": 1, "firmware": {"location": "http://127.0.0.1:9/fw",
                                                    "retrieveDateTime": LATER}},
}
