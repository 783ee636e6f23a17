"""Typed errors of firmware jobs and campaigns (the REST layer maps them to problems)."""

from __future__ import annotations

from sigec_actors.errors import SigecError


class FirmwareError(SigecError):
    """Base of the firmware errors."""


class UnknownJob(FirmwareError):
    """No firmware job with that id (HTTP 404)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"firmware job {job_id} not found")


class JobFinished(FirmwareError):
    """The job already ended (`status`): it cannot be cancelled (HTTP 409)."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"firmware job {job_id} is already {status}")


class UnknownCampaign(FirmwareError):
    """No campaign with that id (HTTP 404)."""

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        super().__init__(f"firmware campaign {campaign_id} not found")


class CampaignTransition(FirmwareError):
    """A campaign step its status does not allow (e.g. resume a cancelled one; HTTP 409)."""

    def __init__(self, campaign_id: str, status: str, wanted: str) -> None:
        self.campaign_id = campaign_id
        self.status = status
        self.wanted = wanted
        super().__init__(f"firmware campaign {campaign_id} is {status}: cannot {wanted}")


class NoStations(FirmwareError):
    """A campaign whose ids or filter select no known station (HTTP 422)."""

    def __init__(self) -> None:
        super().__init__("the campaign selects no known station")
