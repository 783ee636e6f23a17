"""The one intent schema every recognizer produces and the executor consumes.

The rule-based recognizer fills `Intent`s from words; the Gemini adapter declares the same
specs as tools (`function_declarations`), so a tool call becomes the same `Intent`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

import msgspec

SlotType = Literal["string", "integer", "number"]


class IntentName(StrEnum):
    START_CHARGING = "start_charging"
    STOP_CHARGING = "stop_charging"
    SESSION_STATUS = "session_status"
    WALLET_BALANCE = "wallet_balance"
    TOP_UP = "top_up"
    NEARBY_STATIONS = "nearby_stations"
    RESERVE = "reserve"
    GRID_PRICE = "grid_price"
    START_V2G = "start_v2g"
    STOP_V2G = "stop_v2g"
    V2G_EARNINGS = "v2g_earnings"
    HELP = "help"


class Slot(msgspec.Struct, frozen=True):
    name: str
    type: SlotType
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


class IntentSpec(msgspec.Struct, frozen=True):
    name: IntentName
    description: str
    slots: tuple[Slot, ...] = ()
    confirm: bool = False  # moves money or ends a session: asked before it runs


STATION = Slot("station", "string", "The charging station's id or name, e.g. CP-012 or 12")
CONNECTOR = Slot("connector", "integer", "The EVSE/connector number at the station", minimum=1)
PERIOD = Slot("period", "string", "The period to sum", enum=("day", "week", "month", "all"))

SPECS: Final[dict[IntentName, IntentSpec]] = {s.name: s for s in (
    IntentSpec(IntentName.START_CHARGING, "Start charging the caller's car at a station",
               (Slot("station", "string", STATION.description, required=True), CONNECTOR)),
    IntentSpec(IntentName.STOP_CHARGING, "Stop the caller's charging session in progress",
               (STATION,), confirm=True),
    IntentSpec(IntentName.SESSION_STATUS, "How the caller's charging session is going"),
    IntentSpec(IntentName.WALLET_BALANCE, "The caller's wallet balance"),
    IntentSpec(IntentName.TOP_UP, "Top up the caller's wallet by PIX",
               (Slot("amount_centavos", "integer", "Amount in centavos (R$ 50 = 5000)",
                     required=True, minimum=100, maximum=500_000),), confirm=True),
    IntentSpec(IntentName.NEARBY_STATIONS, "Charging stations near the caller",
               (Slot("radius_km", "number", "Search radius in km", minimum=0.1, maximum=500),)),
    IntentSpec(IntentName.RESERVE, "Reserve a station (or one of its connectors) for the caller",
               (Slot("station", "string", STATION.description, required=True), CONNECTOR)),
    IntentSpec(IntentName.GRID_PRICE, "The grid (PLD) and retail price of the current hour"),
    IntentSpec(IntentName.START_V2G, "Discharge the caller's plugged-in car into the grid",
               (Slot("min_soc", "integer", "State of charge floor in percent", required=True,
                     minimum=10, maximum=100), STATION), confirm=True),
    IntentSpec(IntentName.STOP_V2G, "Stop the caller's discharge into the grid", confirm=True),
    IntentSpec(IntentName.V2G_EARNINGS, "What the caller's V2G discharges earned in a period",
               (PERIOD,)),
    IntentSpec(IntentName.HELP, "What the assistant can do"),
)}


class Intent(msgspec.Struct, frozen=True):
    """A recognised request: its name and the slots found (names as in SPECS)."""

    name: IntentName
    slots: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def spec(self) -> IntentSpec:
        return SPECS[self.name]

    def missing(self) -> tuple[str, ...]:
        """Required slots not filled."""
        return tuple(s.name for s in self.spec.slots if s.required and s.name not in self.slots)


class InvalidIntent(ValueError):
    """A tool call or a parse that does not fit the schema (unknown name, bad slot value)."""


def _coerce(slot: Slot, value: Any) -> Any:
    if slot.type == "string":
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidIntent(f"{slot.name} must be a string")
        text = str(value).strip()
        if slot.enum and text not in slot.enum:
            raise InvalidIntent(f"{slot.name} must be one of {', '.join(slot.enum)}")
        if not text or len(text) > 64:
            raise InvalidIntent(f"{slot.name} must be 1..64 characters")
        return text
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidIntent(f"{slot.name} must be a number")
    try:
        number: float = float(value)
    except ValueError:
        raise InvalidIntent(f"{slot.name} must be a number") from None
    if slot.type == "integer":
        if number != int(number):
            raise InvalidIntent(f"{slot.name} must be a whole number")
        number = int(number)
    if (slot.minimum is not None and number < slot.minimum) or (
            slot.maximum is not None and number > slot.maximum):
        raise InvalidIntent(f"{slot.name} must be between {slot.minimum} and {slot.maximum}")
    return number


def intent_from(name: str, args: dict[str, Any] | None) -> Intent:
    """Validate a name and raw arguments (a Gemini tool call) against the schema."""
    try:
        spec = SPECS[IntentName(name)]
    except ValueError:
        raise InvalidIntent(f"unknown intent {name!r}") from None
    known = {s.name: s for s in spec.slots}
    slots: dict[str, Any] = {}
    for key, value in (args or {}).items():
        if key not in known:
            raise InvalidIntent(f"{name} has no slot {key!r}")
        if value is not None:
            slots[key] = _coerce(known[key], value)
    return Intent(spec.name, slots)


def function_declarations() -> list[dict[str, Any]]:
    """The intents as Gemini function declarations (OpenAPI-style parameter schemas)."""
    out = []
    for spec in SPECS.values():
        props: dict[str, Any] = {}
        for slot in spec.slots:
            prop: dict[str, Any] = {"type": slot.type, "description": slot.description}
            if slot.enum:
                prop["enum"] = list(slot.enum)
            if slot.minimum is not None:
                prop["minimum"] = slot.minimum
            if slot.maximum is not None:
                prop["maximum"] = slot.maximum
            props[slot.name] = prop
        decl: dict[str, Any] = {"name": spec.name.value, "description": spec.description}
        if props:
            decl["parameters"] = {"type": "object", "properties": props,
                                  "required": [s.name for s in spec.slots if s.required]}
        out.append(decl)
    return out
