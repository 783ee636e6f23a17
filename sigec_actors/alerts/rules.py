"""Pure rules: which security events and session replacements open an alert, and which one."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sigec_actors.alerts.model import NewAlert, Severity

SECURITY_EVENT: Final = "security_event"
SESSION_NEW_IP: Final = "session_new_ip"
TLS_PROFILES: Final = frozenset({2, 3})
"""Security profiles whose sessions alert when replaced from a new address (S4)."""


def remote_ip(remote: str) -> str:
    """The address part of "ip:port" or "[ipv6]:port"."""
    return remote.rsplit(":", 1)[0].strip("[]")


def security_event_alert(station_id: str, event_type: str, timestamp: datetime,
                         tech_info: str | None) -> NewAlert:
    """A critical SecurityEventNotification (S7): one open alert per station and type."""
    return NewAlert(
        severity=Severity.CRITICAL, kind=SECURITY_EVENT, charge_point_id=station_id,
        message=f"station {station_id} reported the critical security event {event_type}",
        details={"type": event_type, "timestamp": timestamp.isoformat(),
                 "techInfo": tech_info},
        dedupe_key=f"{SECURITY_EVENT}:{station_id}:{event_type}")


def new_ip_alert(station_id: str, security_profile: int, old_remote: str,
                 new_remote: str) -> NewAlert | None:
    """S4: a TLS-profile session replaced from another address may be a hijack; None if the
    address is the same or the station is on profile 0/1 (its address proves little)."""
    old_ip, new_ip = remote_ip(old_remote), remote_ip(new_remote)
    if old_ip == new_ip or security_profile not in TLS_PROFILES:
        return None
    return NewAlert(
        severity=Severity.WARNING, kind=SESSION_NEW_IP, charge_point_id=station_id,
        message=(f"station {station_id} (security profile {security_profile}) reconnected"
                 f" from {new_ip}, replacing its session from {old_ip}"),
        details={"oldIp": old_ip, "newIp": new_ip, "securityProfile": security_profile},
        dedupe_key=f"{SESSION_NEW_IP}:{station_id}:{new_ip}")
