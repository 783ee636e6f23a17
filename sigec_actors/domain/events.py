"""Event subjects published on NATS (JetStream) and the streams that hold them."""

from __future__ import annotations

from typing import Final

OCPP_DEVICE_CONNECTED: Final = "ocpp.device.connected"
OCPP_DEVICE_DISCONNECTED: Final = "ocpp.device.disconnected"
OCPP_DEVICE_BOOT: Final = "ocpp.device.boot"
OCPP_DEVICE_STATUS: Final = "ocpp.device.status"
OCPP_COMMAND_SENT: Final = "ocpp.command.sent"
OCPP_COMMAND_RESPONSE: Final = "ocpp.command.response"
OCPP_COMMAND_TIMEOUT: Final = "ocpp.command.timeout"
TRANSACTION_STARTED: Final = "transaction.started"
TRANSACTION_UPDATED: Final = "transaction.updated"
TRANSACTION_COMPLETED: Final = "transaction.completed"
V2G_SESSION_STARTED: Final = "v2g.session.started"
V2G_SESSION_UPDATED: Final = "v2g.session.updated"
V2G_SESSION_COMPLETED: Final = "v2g.session.completed"
V2G_COMPENSATION_CALCULATED: Final = "v2g.compensation.calculated"
V2G_COMPENSATION_PAID: Final = "v2g.compensation.paid"
V2G_COMPENSATION_FAILED: Final = "v2g.compensation.failed"
FIRMWARE_UPDATE_STARTED: Final = "firmware.update.started"
FIRMWARE_UPDATE_PROGRESS: Final = "firmware.update.progress"
FIRMWARE_UPDATE_COMPLETED: Final = "firmware.update.completed"
FIRMWARE_UPDATE_FAILED: Final = "firmware.update.failed"
PAYMENT_COMPLETED: Final = "payment.completed"
PAYMENT_FAILED: Final = "payment.failed"
PAYMENT_DISPUTED: Final = "payment.disputed"  # a Stripe charge.dispute.created webhook
WALLET_CREDITED: Final = "wallet.credited"
WALLET_DEBITED: Final = "wallet.debited"
ALERT_OPENED: Final = "alert.opened"
VOICE_COMMAND_PROCESSED: Final = "voice.command.processed"

STREAMS: Final[dict[str, str]] = {
    "SIGEC_OCPP": "ocpp.>",
    "SIGEC_TRANSACTION": "transaction.>",
    "SIGEC_V2G": "v2g.>",
    "SIGEC_FIRMWARE": "firmware.>",
    "SIGEC_PAYMENT": "payment.>",
    "SIGEC_WALLET": "wallet.>",
    "SIGEC_ALERT": "alert.>",
    "SIGEC_VOICE": "voice.>",
}
"""JetStream stream name -> subject filter; every outbox subject falls in exactly one."""


def stream_for(subject: str) -> str | None:
    """The stream that captures `subject`, or None if no stream does."""
    head = subject.split(".", 1)[0]
    for name, pattern in STREAMS.items():
        if pattern.split(".", 1)[0] == head:
            return name
    return None
