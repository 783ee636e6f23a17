"""Messages of the FirmwareJob actor: the station's reports, answers, timers and operators."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sigec_actors.ocpp.generated.v201 import FirmwareStatusEnum


class StatusReported(msgspec.Struct, frozen=True):
    """A FirmwareStatusNotification of the job's station (its requestId matched, or none)."""

    status: FirmwareStatusEnum
    at: datetime


class Booted(msgspec.Struct, frozen=True):
    """The station sent BootNotification (`reason` as sent) reporting `version`."""

    reason: str
    version: str | None
    at: datetime


class UpdateAnswered(msgspec.Struct, frozen=True):
    """UpdateFirmware was answered (`status`) or could not be delivered (`error`)."""

    status: str | None = None
    error: str | None = None


class Tick(msgspec.Struct, frozen=True):
    """Timer: check the phase deadline and a due (re)send."""


class CancelJob(msgspec.Struct, frozen=True):
    """An operator cancels the job; the reply is the job state."""

    by: str = "operator"


class GetJob(msgspec.Struct, frozen=True):
    """Ask: the job as it is now."""


Decidable = StatusReported | Booted | UpdateAnswered | Tick | CancelJob
"""What the pure `decide` handles."""

FirmwareJobMsg = Decidable | GetJob
"""Everything the FirmwareJob actor receives."""
