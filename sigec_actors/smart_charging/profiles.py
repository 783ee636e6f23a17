"""Checks a charging profile against OCPP 2.0.1's rules and what the station says it takes."""

from __future__ import annotations

from datetime import datetime

import msgspec

from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201

Purpose = v201.ChargingProfilePurposeEnum
Kind = v201.ChargingProfileKindEnum
DEFAULT_PERIODS = 24
"""SmartChargingCtrlr.PeriodsPerSchedule when the station never reported it."""
DEFAULT_STACK_LEVELS = 100
"""SmartChargingCtrlr.ProfileStackLevel (the highest level) when never reported."""


class ProfileInvalid(SigecError):
    """A profile the CSMS will not send: `field` (a JSON path in the body) and why."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class StationLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What the station reported in its device model (SmartChargingCtrlr), or the defaults."""

    rate_units: frozenset[str] = frozenset({"A", "W"})
    periods_per_schedule: int = DEFAULT_PERIODS
    max_stack_level: int = DEFAULT_STACK_LEVELS


def limits_of(variables: dict[str, str]) -> StationLimits:
    """StationLimits from SmartChargingCtrlr variable values (name -> Actual value)."""
    units = frozenset(u.strip() for u in variables.get("RateUnit", "").split(",") if u.strip())
    return StationLimits(
        rate_units=units & {"A", "W"} or frozenset({"A", "W"}),
        periods_per_schedule=_int(variables.get("PeriodsPerSchedule"), DEFAULT_PERIODS),
        max_stack_level=_int(variables.get("ProfileStackLevel"), DEFAULT_STACK_LEVELS))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None and int(value) > 0 else default
    except ValueError:
        return default


def validate(evse_id: int, profile: v201.ChargingProfile, limits: StationLimits) -> None:
    """Raise ProfileInvalid on the first rule the profile breaks (field paths are the body's)."""
    at = "chargingProfile"
    purpose = profile.charging_profile_purpose
    if purpose is Purpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS:
        raise ProfileInvalid(f"{at}.chargingProfilePurpose",
                             "external constraints are set by the station's EMS, not the CSMS")
    if purpose is Purpose.TX_PROFILE:
        if evse_id < 1:
            raise ProfileInvalid("evseId", "a TxProfile needs an EVSE (1 or more)")
        if profile.transaction_id is None:
            raise ProfileInvalid(f"{at}.transactionId", "a TxProfile names its transaction")
    elif profile.transaction_id is not None:
        raise ProfileInvalid(f"{at}.transactionId", "only a TxProfile names a transaction")
    if purpose is Purpose.CHARGING_STATION_MAX_PROFILE and evse_id != 0:
        raise ProfileInvalid("evseId", "a ChargingStationMaxProfile is for the station (0)")
    if profile.id < 1:
        raise ProfileInvalid(f"{at}.id", "must be 1 or more")
    if profile.stack_level < 0:
        raise ProfileInvalid(f"{at}.stackLevel", "must be 0 or more")
    if profile.stack_level > limits.max_stack_level:
        raise ProfileInvalid(f"{at}.stackLevel",
                             f"the station takes stack levels up to {limits.max_stack_level}")
    _validity(profile.valid_from, profile.valid_to, at)
    _kind(profile, at)
    for i, schedule in enumerate(profile.charging_schedule):
        _schedule(schedule, purpose, limits, f"{at}.chargingSchedule[{i}]")


def _validity(start: datetime | None, end: datetime | None, at: str) -> None:
    if start is not None and end is not None and end <= start:
        raise ProfileInvalid(f"{at}.validTo", "must be after validFrom")


def _kind(profile: v201.ChargingProfile, at: str) -> None:
    kind = profile.charging_profile_kind
    starts = [s.start_schedule for s in profile.charging_schedule]
    if kind is Kind.RELATIVE and any(s is not None for s in starts):
        raise ProfileInvalid(f"{at}.chargingSchedule", "a Relative profile has no startSchedule")
    if kind is not Kind.RELATIVE and any(s is None for s in starts):
        raise ProfileInvalid(f"{at}.chargingSchedule",
                             f"an {kind.value} profile needs a startSchedule")
    if (kind is Kind.RECURRING) != (profile.recurrency_kind is not None):
        raise ProfileInvalid(f"{at}.recurrencyKind",
                             "required for a Recurring profile, and only for one")


def _schedule(schedule: v201.ChargingSchedule, purpose: Purpose, limits: StationLimits,
              at: str) -> None:
    unit = schedule.charging_rate_unit.value
    if unit not in limits.rate_units:
        raise ProfileInvalid(f"{at}.chargingRateUnit",
                             f"the station takes {', '.join(sorted(limits.rate_units))}")
    periods = schedule.charging_schedule_period
    if len(periods) > limits.periods_per_schedule:
        raise ProfileInvalid(f"{at}.chargingSchedulePeriod",
                             f"the station takes at most {limits.periods_per_schedule} periods")
    if schedule.duration is not None and schedule.duration <= 0:
        raise ProfileInvalid(f"{at}.duration", "must be positive")
    previous = -1
    for i, period in enumerate(periods):
        where = f"{at}.chargingSchedulePeriod[{i}]"
        if (i == 0 and period.start_period != 0) or period.start_period <= previous:
            raise ProfileInvalid(f"{where}.startPeriod",
                                 "the first period starts at 0, each later one after it")
        previous = period.start_period
        if period.limit < 0 and purpose is not Purpose.TX_PROFILE:
            raise ProfileInvalid(f"{where}.limit", "only a TxProfile may discharge (< 0)")
        if period.number_phases is not None and not 1 <= period.number_phases <= 3:
            raise ProfileInvalid(f"{where}.numberPhases", "must be 1, 2 or 3")
        if period.phase_to_use is not None and period.number_phases != 1:
            raise ProfileInvalid(f"{where}.phaseToUse", "only with numberPhases 1")
