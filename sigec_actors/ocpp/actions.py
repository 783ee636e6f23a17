"""Action descriptors: which request/response Structs an OCPP action uses and which way it flows."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import msgspec


class Direction(enum.Flag):
    """Who may send the CALL of an action (OCPP 2.0.1 Part 2 message list)."""

    CS_TO_CSMS = enum.auto()
    CSMS_TO_CS = enum.auto()
    BOTH = CS_TO_CSMS | CSMS_TO_CS


# Python 3.11 resolves `Enum.MEMBER` through the metaclass (~0.3 µs each): bind them once.
_CS_TO_CSMS = Direction.CS_TO_CSMS
_CSMS_TO_CS = Direction.CSMS_TO_CS


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One OCPP action: its name, request and response Structs, direction and cached decoders."""

    name: str
    request: type[msgspec.Struct]
    response: type[msgspec.Struct]
    direction: Direction
    request_decoder: msgspec.json.Decoder[Any] = field(init=False, repr=False, compare=False)
    response_decoder: msgspec.json.Decoder[Any] = field(init=False, repr=False, compare=False)
    station_may_call: bool = field(init=False, repr=False, compare=False)
    """True when a Charging Station may send this CALL to the CSMS."""
    csms_may_call: bool = field(init=False, repr=False, compare=False)
    """True when the CSMS may send this CALL to a Charging Station."""

    def __post_init__(self) -> None:
        # Built once per action: msgspec decoders are reusable, and Flag arithmetic costs
        # about a microsecond per operation, too much for the per-frame path.
        object.__setattr__(self, "request_decoder", msgspec.json.Decoder(self.request))
        object.__setattr__(self, "response_decoder", msgspec.json.Decoder(self.response))
        object.__setattr__(self, "station_may_call", Direction.CS_TO_CSMS in self.direction)
        object.__setattr__(self, "csms_may_call", Direction.CSMS_TO_CS in self.direction)

    def accepts(self, inbound: Direction) -> bool:
        """True when a receiver that accepts CALLs flowing `inbound` may take this action."""
        if inbound is _CS_TO_CSMS:
            return self.station_may_call
        if inbound is _CSMS_TO_CS:
            return self.csms_may_call
        return bool(self.direction & inbound)
