"""The simulated car's battery and meter: pure physics, advanced by `step(dt)`."""

from __future__ import annotations

import msgspec

MJ_PER_WH = 3_600_000
"""Millijoules in one watt-hour: energy is kept in integer mJ (W x ms), so nothing drifts."""


class Battery(msgspec.Struct, frozen=True, kw_only=True):
    """A car on one EVSE and the EVSE's two energy registers.

    `power_w` is the commanded power: positive charges (import), negative discharges into the
    grid (export), 0 idles. The battery never goes below empty nor above full: at either end
    the power actually flowing drops to 0 while the command stays.
    """

    capacity_wh: int
    stored_mj: int
    import_mj: int = 0
    export_mj: int = 0
    power_w: int = 0
    flowing_w: int = 0
    """The power that flowed in the last step (signed like `power_w`)."""

    @classmethod
    def at_soc(cls, capacity_wh: int, soc_percent: float) -> Battery:
        if capacity_wh <= 0:
            raise ValueError("capacity_wh must be positive")
        if not 0 <= soc_percent <= 100:
            raise ValueError("soc_percent must be within 0..100")
        stored = round(capacity_wh * MJ_PER_WH * soc_percent / 100)
        return cls(capacity_wh=capacity_wh, stored_mj=stored)

    @property
    def capacity_mj(self) -> int:
        return self.capacity_wh * MJ_PER_WH

    @property
    def soc(self) -> float:
        """State of charge in percent, to one decimal (rounded down: never above the truth)."""
        return (self.stored_mj * 1000 // self.capacity_mj) / 10

    @property
    def import_wh(self) -> int:
        """Energy.Active.Import.Register: whole Wh drawn from the grid so far."""
        return self.import_mj // MJ_PER_WH

    @property
    def export_wh(self) -> int:
        """Energy.Active.Export.Register: whole Wh fed into the grid so far."""
        return self.export_mj // MJ_PER_WH

    @property
    def export_power_w(self) -> int:
        """Power.Active.Export: the discharge power flowing now (W, >= 0)."""
        return max(-self.flowing_w, 0)

    @property
    def import_power_w(self) -> int:
        """Power.Active.Import: the charge power flowing now (W, >= 0)."""
        return max(self.flowing_w, 0)

    def command(self, power_w: int) -> Battery:
        """The same battery told to run at `power_w` from now on."""
        return msgspec.structs.replace(self, power_w=power_w)

    def step(self, dt_ms: int) -> Battery:
        """The battery `dt_ms` milliseconds later at the commanded power."""
        if dt_ms < 0:
            raise ValueError("dt_ms must not be negative")
        wanted = self.power_w * dt_ms
        if wanted >= 0:
            stored = self.stored_mj + min(wanted, self.capacity_mj - self.stored_mj)
            flowing = self.power_w if stored < self.capacity_mj else 0
            return msgspec.structs.replace(
                self, stored_mj=stored, import_mj=self.import_mj + stored - self.stored_mj,
                flowing_w=flowing)
        stored = self.stored_mj - min(-wanted, self.stored_mj)
        flowing = self.power_w if stored > 0 else 0
        return msgspec.structs.replace(
            self, stored_mj=stored, export_mj=self.export_mj + self.stored_mj - stored,
            flowing_w=flowing)
