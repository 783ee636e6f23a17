"""The simulated station's charging profiles: pure table of set/clear rules and the power now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

TX_PROFILE = "TxProfile"
TX_DEFAULT = "TxDefaultProfile"
VOLTS = 230
"""Line voltage used to turn an A limit into W (x numberPhases, 3 when not given)."""


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """One installed charging profile, reduced to what drives the power.

    `periods` are (startPeriod s, limit W): a negative limit discharges (the OCPP 2.0.1
    vendor-style V2G convention), a positive one caps charging at that power.
    """

    id: int
    evse_id: int
    purpose: str
    stack_level: int
    transaction_id: str | None
    start: datetime
    duration_s: int | None
    periods: tuple[tuple[int, int], ...]

    def limit_at(self, now: datetime) -> int | None:
        """The period limit in force at `now` (W), or None before it starts / after it ends."""
        elapsed = (now - self.start).total_seconds()
        if elapsed < 0 or (self.duration_s is not None and elapsed >= self.duration_s):
            return None
        limit = None
        for start_period, watts in self.periods:
            if start_period <= elapsed:
                limit = watts
        return limit


def profile_of(evse_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
    """A SetChargingProfile's `chargingProfile` (the ocpp library's snake_case dict)."""
    schedule = raw["charging_schedule"][0]
    unit = schedule.get("charging_rate_unit", "W")
    periods = []
    for period in schedule["charging_schedule_period"]:
        limit = float(period["limit"])
        if unit == "A":
            limit *= VOLTS * int(period.get("number_phases") or 3)
        periods.append((int(period["start_period"]), round(limit)))
    start = schedule.get("start_schedule")
    return Profile(
        id=int(raw["id"]), evse_id=evse_id, purpose=str(raw["charging_profile_purpose"]),
        stack_level=int(raw["stack_level"]), transaction_id=raw.get("transaction_id"),
        start=datetime.fromisoformat(start) if start else now,
        duration_s=schedule.get("duration"), periods=tuple(sorted(periods)))


class Profiles(msgspec.Struct, frozen=True):
    """Every installed profile by id (immutable: each change returns a new table)."""

    by_id: Mapping[int, Profile] = msgspec.field(default_factory=dict)

    def install(self, profile: Profile, running: Mapping[int, str]) -> tuple[Profiles, str]:
        """(table, status) of a SetChargingProfile; `running` maps EVSE -> transactionId.

        A TxProfile must name the transaction running on its EVSE (Rejected otherwise). A
        profile replaces the one with its id and the one with its EVSE, purpose and stack level.
        """
        if profile.purpose == TX_PROFILE and (
                profile.evse_id == 0 or profile.transaction_id is None
                or running.get(profile.evse_id) != profile.transaction_id):
            return self, "Rejected"
        kept = {pid: p for pid, p in self.by_id.items() if pid != profile.id and (
            p.evse_id, p.purpose, p.stack_level) != (
            profile.evse_id, profile.purpose, profile.stack_level)}
        kept[profile.id] = profile
        return Profiles(kept), "Accepted"

    def clear(self, profile_id: int | None = None,
              criteria: Mapping[str, Any] | None = None) -> tuple[Profiles, str]:
        """(table, Accepted | Unknown) of a ClearChargingProfile (by id, else by criteria)."""
        if profile_id is not None:
            gone = {profile_id} & set(self.by_id)
        else:
            wanted = {k: v for k, v in (criteria or {}).items() if v is not None}
            gone = {pid for pid, p in self.by_id.items() if _matches(p, wanted)}
        if not gone:
            return self, "Unknown"
        return Profiles({pid: p for pid, p in self.by_id.items() if pid not in gone}), "Accepted"

    def end_transaction(self, transaction_id: str) -> Profiles:
        """The table without the TxProfiles bound to a transaction that ended."""
        return Profiles({pid: p for pid, p in self.by_id.items()
                         if p.transaction_id != transaction_id})

    def power_w(self, evse_id: int, transaction_id: str, now: datetime) -> int:
        """The power commanded on the EVSE now: the highest-stack TxProfile of its transaction
        in force, else the highest TxDefaultProfile of the EVSE (or of EVSE 0), else 0 (idle)."""
        limit = self.limit_w(evse_id, transaction_id, now)
        return 0 if limit is None else limit

    def limit_w(self, evse_id: int, transaction_id: str, now: datetime) -> int | None:
        """The limit in force on the EVSE now as `power_w` finds it; None: no profile applies."""
        for purpose, evses in ((TX_PROFILE, {evse_id}), (TX_DEFAULT, {evse_id, 0})):
            candidates = sorted(
                (p for p in self.by_id.values() if p.purpose == purpose and p.evse_id in evses
                 and (purpose != TX_PROFILE or p.transaction_id == transaction_id)),
                key=lambda p: p.stack_level, reverse=True)
            for profile in candidates:
                limit = profile.limit_at(now)
                if limit is not None:
                    return limit
        return None


def _matches(profile: Profile, wanted: Mapping[str, Any]) -> bool:
    fields = {"evse_id": profile.evse_id, "charging_profile_purpose": profile.purpose,
              "stack_level": profile.stack_level}
    return all(fields.get(key) == value for key, value in wanted.items())
