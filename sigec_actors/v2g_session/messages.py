"""Messages of the V2GSession actor: meter reports, presence, timers, the user and the station."""

from __future__ import annotations

from datetime import datetime

import msgspec


class MeterSample(msgspec.Struct, frozen=True):
    """One metered instant of the transaction (any of the three values may be missing)."""

    at: datetime
    export_wh: int | None = None  # Energy.Active.Export.Register
    soc: int | None = None  # SoC, percent
    power_w: int | None = None  # Power.Active.Export


class MeterReported(msgspec.Struct, frozen=True):
    """The transaction's meter values from one stored TransactionEvent (maybe a repeat)."""

    samples: tuple[MeterSample, ...]


class TransactionEnded(msgspec.Struct, frozen=True):
    """The transaction the session discharges ended (its TxProfile ended with it)."""


class StationPresence(msgspec.Struct, frozen=True):
    """The station's link came back (`online`) or went away."""

    online: bool


class Tick(msgspec.Struct, frozen=True):
    """Timer: check `until`, the offline grace and (with a floor) the grid price."""


class PriceObserved(msgspec.Struct, frozen=True):
    """The retail price of the current hour, for the user's price floor."""

    retail_centavos_per_mwh: int


class StopRequested(msgspec.Struct, frozen=True):
    """The user (or an operator) stops the discharge; the reply is the session view."""

    reason: str = "user"


class ProfileAnswered(msgspec.Struct, frozen=True):
    """The station's answer to the discharge SetChargingProfile."""

    accepted: bool
    reason: str = ""


class ClearAnswered(msgspec.Struct, frozen=True):
    """The ClearChargingProfile that ends the discharge was answered (or could not be sent)."""

    ok: bool
    reason: str = ""


class Abandoned(msgspec.Struct, frozen=True):
    """The sweep ends a session no actor finished: a start never answered (`starting` ->
    failed) or a station offline past the grace with no node running it (-> completed)."""

    reason: str


class GetView(msgspec.Struct, frozen=True):
    """Ask: the session as stored now."""


class SettleAgain(msgspec.Struct, frozen=True):
    """Timer: the compensation could not be stored or paid; try again."""


Decidable = (
    MeterReported | TransactionEnded | StationPresence | Tick | PriceObserved | StopRequested
    | ProfileAnswered | ClearAnswered | Abandoned
)
"""What the pure `decide` handles."""

V2GSessionMsg = Decidable | GetView | SettleAgain
"""Everything the V2GSession actor receives."""
