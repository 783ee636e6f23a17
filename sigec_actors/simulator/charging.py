"""A simulated station whose cars charge on their own: each draws min(its maximum, the limit).

The V2G simulator's batteries idle without a profile (a discharge station waits for its
command); here a car plugged in charges at once at `ev_max_w`, and a charging profile in force
caps it (a negative limit still discharges). Every meter value reports the power drawn
(Power.Active.Import), and an accepted profile change is reported at once.
"""

from __future__ import annotations

from datetime import datetime

from sigec_actors.simulator.station import SimulatedStation

DEFAULT_EV_MAX_W = 11_000


def drawn_w(ev_max_w: int, limit_w: int | None) -> int:
    """The power a car draws: its maximum, capped by the limit in force (if any)."""
    if limit_w is None:
        return ev_max_w
    return min(ev_max_w, limit_w)


class ChargingStation(SimulatedStation):
    """SimulatedStation (with `config.v2g` battery options) whose cars charge unprompted."""

    ev_max_w: int = DEFAULT_EV_MAX_W

    def _commanded_w(self, evse_id: int, transaction_id: str, now: datetime) -> int:
        return drawn_w(self.ev_max_w, self.profiles.limit_w(evse_id, transaction_id, now))

    def power_now(self) -> dict[int, int]:
        """EVSE -> the power flowing now (W; what the meter would report)."""
        return {evse: self._advance(evse).flowing_w for evse in list(self.transactions)}
