"""Rules for station identities and Basic-auth passwords (OCPP 2.0.1 Part 4 §3 and Part 2 A)."""

from __future__ import annotations

import re

from sigec_actors.errors import SigecError

MAX_IDENTITY = 48
# identifierString of OCPP: letters, digits and * - _ = : + | @ . ; ':' is excluded because the
# identity is also the Basic-auth username.
_IDENTITY = re.compile(r"^[A-Za-z0-9*_=+|@.-]{1,48}$")
_PASSWORD = re.compile(r"^[A-Za-z0-9*_=:+|@.-]{16,40}$")


class InvalidStationIdentity(SigecError):
    """An identity that OCPP does not allow; `identity` holds it."""

    def __init__(self, identity: str, problem: str) -> None:
        self.identity = identity
        self.problem = problem
        super().__init__(f"invalid station identity {identity!r}: {problem}")


class InvalidStationPassword(SigecError):
    """A Basic-auth password outside OCPP's 16-40 identifierString characters."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"invalid station password: {problem}")


def validate_identity(identity: str) -> str:
    """Return the identity when valid; raise InvalidStationIdentity otherwise."""
    if not identity or len(identity) > MAX_IDENTITY:
        raise InvalidStationIdentity(identity, f"must be 1-{MAX_IDENTITY} characters")
    if ":" in identity:
        raise InvalidStationIdentity(identity, "must not contain ':'")
    if not _IDENTITY.match(identity):
        raise InvalidStationIdentity(identity, "only letters, digits and *-_=+|@. are allowed")
    return identity


def validate_station_password(password: str) -> str:
    """Return the password when valid for OCPP BasicAuthPassword; raise otherwise."""
    if not _PASSWORD.match(password):
        raise InvalidStationPassword("must be 16-40 letters, digits or *-_=:+|@.")
    return password
