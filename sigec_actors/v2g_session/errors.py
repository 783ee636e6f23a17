"""Typed errors of V2G discharge sessions (the REST layer maps them to problem responses)."""

from __future__ import annotations

from sigec_actors.errors import SigecError


class V2GError(SigecError):
    """Base of the V2G session errors."""


class IllegalTransition(V2GError):
    """A session lifecycle step the transition table does not allow."""

    def __init__(self, session_id: str, current: str, wanted: str) -> None:
        self.session_id = session_id
        self.current = current
        self.wanted = wanted
        super().__init__(f"v2g session {session_id}: {current} -> {wanted} is not allowed")


class NoTransaction(V2GError):
    """No active transaction on that EVSE of the station (HTTP 409)."""

    def __init__(self, station_id: str, evse_id: int | None) -> None:
        self.station_id = station_id
        self.evse_id = evse_id
        super().__init__(f"no active transaction on {station_id} EVSE {evse_id or 'any'}")


class NotTransactionOwner(V2GError):
    """The caller does not own the active transaction it wants to discharge (HTTP 403)."""

    def __init__(self, station_id: str, evse_id: int) -> None:
        self.station_id = station_id
        self.evse_id = evse_id
        super().__init__(f"the transaction on {station_id} EVSE {evse_id} is someone else's")


class SessionAlreadyLive(V2GError):
    """A discharge already runs on that EVSE (HTTP 409)."""

    def __init__(self, station_id: str, evse_id: int) -> None:
        self.station_id = station_id
        self.evse_id = evse_id
        super().__init__(f"a v2g session already runs on {station_id} EVSE {evse_id}")


class DischargeUnsupported(V2GError):
    """The station cannot discharge now: mode unsupported, OCPP 2.1 only, or offline (409)."""

    def __init__(self, station_id: str, reason: str) -> None:
        self.station_id = station_id
        self.reason = reason
        super().__init__(f"station {station_id} cannot discharge: {reason}")


class ProfileRejected(V2GError):
    """The station refused the discharge profile (HTTP 502); the session ended `failed`."""

    def __init__(self, station_id: str, session_id: str, reason: str) -> None:
        self.station_id = station_id
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"station {station_id} rejected the discharge profile: {reason}")


class UnknownSession(V2GError):
    """No v2g session with that id the caller may see (HTTP 404)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"v2g session {session_id} not found")


class StartTimedOut(ProfileRejected):
    """The station answered after v2g.start_timeout_s, when the session was failed already
    (HTTP 502, reason `start_timeout`); an accepted profile is cleared again."""

    def __init__(self, station_id: str, session_id: str) -> None:
        super().__init__(station_id, session_id, "start_timeout")


class SessionNotCompleted(V2GError):
    """Only a completed session is settled: this one still runs, or failed to start (409)."""

    def __init__(self, session_id: str, status: str) -> None:
        self.session_id = session_id
        self.status = status
        super().__init__(f"v2g session {session_id} is {status}: only a completed session"
                         " is settled")
