"""Meter values sent outside transactions (J01): every sampled value stored before the answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.ports import BlocksStore
from sigec_actors.ocpp_blocks.records import MeterSample

DEFAULT_MEASURAND = m.MeasurandEnum.ENERGY_ACTIVE_IMPORT_REGISTER.value
"""A sampled value without a measurand is this one (OCPP 2.0.1 SampledValueType)."""
DEFAULT_WINDOW = timedelta(days=1)


def samples_of(req: m.MeterValuesRequest) -> list[MeterSample]:
    """One row per sampled value, with the spec's defaults made explicit."""
    rows = []
    for meter in req.meter_value:
        for sv in meter.sampled_value:
            unit = sv.unit_of_measure
            rows.append(MeterSample(
                evse_id=req.evse_id, sampled_at=meter.timestamp,
                measurand=sv.measurand.value if sv.measurand else DEFAULT_MEASURAND,
                value=sv.value, phase=sv.phase.value if sv.phase else None,
                location=sv.location.value if sv.location else None,
                context=sv.context.value if sv.context else None,
                unit=unit.unit if unit is not None else None,
                multiplier=unit.multiplier if unit is not None else None))
    return rows


class MeterValues:
    """Stores MeterValues requests and reads them back for GET /meter-values."""

    def __init__(self, store: BlocksStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def on_meter_values(self, station_id: str,
                              req: m.MeterValuesRequest) -> m.MeterValuesResponse:
        """Handler of MeterValues: stored before the answer (a failure: the station retries).

        evseId 0 is the station's main meter; below 0 it is refused (never retried into)."""
        if req.evse_id < 0:
            raise PayloadError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                               f"evseId {req.evse_id} is below 0", "$.evseId")
        await self._store.add_samples(station_id, samples_of(req))
        return m.MeterValuesResponse()

    async def read(self, station_id: str, since: datetime | None, until: datetime | None,
                   measurand: str | None, limit: int) -> list[MeterSample]:
        """Samples in [since, until) (default: the last day), oldest first."""
        until = until or self._clock()
        since = since or until - DEFAULT_WINDOW
        return await self._store.samples(station_id, since, until, measurand, limit)
