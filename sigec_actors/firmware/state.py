"""The firmware job's lifecycle: job statuses, the table of station reports each one accepts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from sigec_actors.ocpp.generated.v201 import FirmwareStatusEnum as F


class JobStatus(StrEnum):
    """Where a job stands: our own steps around the station's FirmwareStatusEnumType values."""

    REQUESTED = "Requested"  # UpdateFirmware to send (again, once the station is back)
    ACCEPTED = "Accepted"  # the station accepted UpdateFirmware
    DOWNLOAD_SCHEDULED = "DownloadScheduled"
    DOWNLOADING = "Downloading"
    DOWNLOAD_PAUSED = "DownloadPaused"
    DOWNLOADED = "Downloaded"
    SIGNATURE_VERIFIED = "SignatureVerified"
    INSTALL_SCHEDULED = "InstallScheduled"
    INSTALLING = "Installing"
    INSTALL_REBOOTING = "InstallRebooting"
    INSTALLED = "Installed"  # installed; waiting for the boot that reports the version
    RETRYING = "Retrying"  # an attempt failed; the next one waits out its backoff
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


S = JobStatus
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
LIVE = frozenset(S) - TERMINAL
ON_STATION = frozenset(S) - TERMINAL - {S.REQUESTED, S.RETRYING}
"""An attempt the station runs: its reports count, a deadline watches it."""
INSTALL_PHASE = frozenset({S.DOWNLOADED, S.SIGNATURE_VERIFIED, S.INSTALL_SCHEDULED,
                           S.INSTALLING, S.INSTALL_REBOOTING, S.INSTALLED})
"""A boot reporting the target version completes the job from these."""

PROGRESS: dict[F, JobStatus] = {
    F.DOWNLOAD_SCHEDULED: S.DOWNLOAD_SCHEDULED, F.DOWNLOADING: S.DOWNLOADING,
    F.DOWNLOAD_PAUSED: S.DOWNLOAD_PAUSED, F.DOWNLOADED: S.DOWNLOADED,
    F.SIGNATURE_VERIFIED: S.SIGNATURE_VERIFIED, F.INSTALL_SCHEDULED: S.INSTALL_SCHEDULED,
    F.INSTALLING: S.INSTALLING, F.INSTALL_REBOOTING: S.INSTALL_REBOOTING,
    F.INSTALLED: S.INSTALLED,
}
"""The station statuses that move the job forward, and to which job status."""
FAILURES = frozenset({F.DOWNLOAD_FAILED, F.INVALID_SIGNATURE, F.INSTALLATION_FAILED,
                      F.INSTALL_VERIFICATION_FAILED, F.IDLE})
"""The station statuses that end the attempt (Idle mid-update: the station dropped it)."""
assert frozenset(PROGRESS) | FAILURES == frozenset(F), "every FirmwareStatusEnumType value"

_DOWNLOAD = frozenset({F.DOWNLOAD_SCHEDULED, F.DOWNLOADING, F.DOWNLOAD_PAUSED, F.DOWNLOADED,
                       F.DOWNLOAD_FAILED})
_AFTER_DOWNLOAD = frozenset({F.SIGNATURE_VERIFIED, F.INVALID_SIGNATURE, F.INSTALL_SCHEDULED,
                             F.INSTALLING, F.INSTALL_REBOOTING, F.INSTALLED,
                             F.INSTALLATION_FAILED, F.INSTALL_VERIFICATION_FAILED, F.IDLE})
_INSTALL = frozenset({F.INSTALLING, F.INSTALL_REBOOTING, F.INSTALLED, F.INSTALLATION_FAILED,
                      F.INSTALL_VERIFICATION_FAILED, F.IDLE})

TRANSITIONS: dict[JobStatus, frozenset[F]] = {
    # the first report may overtake the UpdateFirmware answer
    S.REQUESTED: frozenset({F.DOWNLOAD_SCHEDULED, F.DOWNLOADING, F.DOWNLOADED,
                            F.DOWNLOAD_FAILED}),
    S.ACCEPTED: _DOWNLOAD | _AFTER_DOWNLOAD,  # a station may already hold the image
    S.DOWNLOAD_SCHEDULED: _DOWNLOAD | {F.IDLE},
    S.DOWNLOADING: _DOWNLOAD | {F.IDLE, F.INVALID_SIGNATURE},
    S.DOWNLOAD_PAUSED: _DOWNLOAD | {F.IDLE},
    S.DOWNLOADED: _AFTER_DOWNLOAD,
    S.SIGNATURE_VERIFIED: _AFTER_DOWNLOAD - {F.SIGNATURE_VERIFIED, F.INVALID_SIGNATURE},
    S.INSTALL_SCHEDULED: _INSTALL,
    S.INSTALLING: _INSTALL,
    S.INSTALL_REBOOTING: frozenset({F.INSTALLED, F.INSTALLATION_FAILED,
                                    F.INSTALL_VERIFICATION_FAILED}),
    S.INSTALLED: frozenset(),
    S.RETRYING: frozenset(),  # late reports of the failed attempt
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""The station reports each job status accepts; any other is recorded, not trusted."""
assert frozenset(TRANSITIONS) == frozenset(S)


def accepts(status: JobStatus, report: F) -> bool:
    """True when a station report `report` is a legal next step from `status`."""
    return report in TRANSITIONS[status]


class JobPolicy(msgspec.Struct, frozen=True):
    """Node settings of the lifecycle: how long each phase may take, the backoff cap."""

    request_timeout_s: float = 86_400.0  # REQUESTED: the station never took UpdateFirmware
    resend_s: float = 30.0  # REQUESTED: UpdateFirmware could not be delivered; try again
    download_timeout_s: float = 3_600.0
    install_timeout_s: float = 3_600.0
    boot_timeout_s: float = 900.0  # InstallRebooting / Installed: the boot with the version
    max_backoff_s: float = 86_400.0


class HistoryEntry(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """One step of the job as it happened; `out_of_order` reports were recorded only."""

    status: str
    at: datetime
    note: str | None = None
    out_of_order: bool = False


MAX_HISTORY = 200


class JobState(msgspec.Struct, frozen=True, kw_only=True):
    """One firmware job, as stored in `firmware_updates`."""

    job_id: UUID
    station_id: str
    request_id: int
    location: str
    version: str | None = None
    retrieve_at: datetime
    install_at: datetime | None = None
    signing_certificate: str | None = None
    signature: str | None = None
    max_retries: int = 0
    retry_interval_s: int = 60
    status: JobStatus = JobStatus.REQUESTED
    station_status: str | None = None
    attempts: int = 0
    history: tuple[HistoryEntry, ...] = ()
    error: str | None = None
    deadline: datetime | None = None
    next_attempt_at: datetime | None = None
    campaign_id: UUID | None = None
    requested_by: str | None = None
    created_at: datetime
    completed_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE
