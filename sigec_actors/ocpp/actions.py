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


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One OCPP action: its name, request and response Structs, direction and cached decoders."""

    name: str
    request: type[msgspec.Struct]
    response: type[msgspec.Struct]
    direction: Direction
    request_decoder: msgspec.json.Decoder[Any] = field(init=False, repr=False, compare=False)
    response_decoder: msgspec.json.Decoder[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Decoders are built once per action: msgspec decoders are reusable and thread-safe.
        object.__setattr__(self, "request_decoder", msgspec.json.Decoder(self.request))
        object.__setattr__(self, "response_decoder", msgspec.json.Decoder(self.response))

    @property
    def station_may_call(self) -> bool:
        """True when a Charging Station may send this CALL to the CSMS."""
        return Direction.CS_TO_CSMS in self.direction

    @property
    def csms_may_call(self) -> bool:
        """True when the CSMS may send this CALL to a Charging Station."""
        return Direction.CSMS_TO_CS in self.direction
