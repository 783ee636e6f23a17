"""EMAIDs (ISO 15118 contract ids): normalising, parsing and the eMI3 check digit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sigec_actors.errors import SigecError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SHAPE = re.compile(r"^([A-Z]{2})([0-9A-Z]{3})([0-9A-Z]{9})([0-9A-Z]?)$")
_BODY = 14  # country (2) + provider (3) + instance (9)


class InvalidEmaid(SigecError):
    """`value` is not an EMAID (shape, characters or check digit); `reason` says which."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"{value[:40]!r} is not a valid EMAID: {reason}")


Matrix = tuple[int, int, int, int]  # (a, b, c, d) of [[a, b], [c, d]]


def _mul(x: Matrix, y: Matrix, mod: int) -> Matrix:
    a, b, c, d = x
    e, f, g, h = y
    return ((a * e + b * g) % mod, (a * f + b * h) % mod,
            (c * e + d * g) % mod, (c * f + d * h) % mod)


def _powers(base: Matrix, mod: int, count: int) -> tuple[Matrix, ...]:
    """base^1 .. base^count over Z/mod."""
    out = [base]
    while len(out) < count:
        out.append(_mul(out[-1], base, mod))
    return tuple(out)


# The eMI3 scheme splits each character into a pair over GF(2) and a pair over GF(3) and
# weighs position i with the (i+1)-th power of a fixed 2x2 matrix in each field.
_P2 = _powers((0, 1, 1, 1), 2, _BODY + 1)
_P3 = _powers((0, 1, 1, 2), 3, _BODY + 1)


def _split(char: str) -> tuple[int, int, int, int]:
    value = ALPHABET.index(char)
    q, r = divmod(value, 9)
    return q >> 1, q & 1, r // 3, r % 3


def _apply(v1: int, v2: int, m: Matrix, mod: int) -> tuple[int, int]:
    a, b, c, d = m
    return (v1 * a + v2 * c) % mod, (v1 * b + v2 * d) % mod


def check_digit(body: str) -> str:
    """The check character of a 14-character compact EMAID body (e.g. 'BRXXXC12345678')."""
    body = body.upper()
    if len(body) != _BODY or any(ch not in ALPHABET for ch in body):
        raise InvalidEmaid(body, "the body must be 14 letters or digits")
    c1 = c2 = c3 = c4 = 0
    for i, ch in enumerate(body):
        q1, q2, r1, r2 = _split(ch)
        x1, x2 = _apply(q1, q2, _P2[i], 2)
        y1, y2 = _apply(r1, r2, _P3[i], 3)
        c1, c2, c3, c4 = (c1 + x1) % 2, (c2 + x2) % 2, (c3 + y1) % 3, (c4 + y2) % 3
    # the check character must cancel the sums when weighed at position 15: over GF(2) that
    # weight is the identity; over GF(3) it is [[1, 1], [1, 0]], hence the solve below
    assert _P2[_BODY] == (1, 0, 0, 1)
    assert _P3[_BODY] == (1, 1, 1, 0)
    r1 = -c4 % 3
    r2 = (-c3 - r1) % 3
    return ALPHABET[(c1 * 2 + c2) * 9 + r1 * 3 + r2]


@dataclass(frozen=True, slots=True)
class Emaid:
    """A parsed EMAID: country, provider id, instance and its (valid) check digit."""

    country: str
    provider: str
    instance: str
    check: str

    @property
    def compact(self) -> str:
        """The 15-character form carried in certificates and OCPP id tokens."""
        return f"{self.country}{self.provider}{self.instance}{self.check}"

    @property
    def display(self) -> str:
        return f"{self.country}-{self.provider}-{self.instance}-{self.check}"


def normalise(value: str) -> str:
    """Upper case without separators ('br-xxx-c12345678-x' -> 'BRXXXC12345678X')."""
    return value.replace("-", "").replace("*", "").strip().upper()


def parse(value: str, *, require_check: bool = True) -> Emaid:
    """Parse an EMAID (hyphens optional); InvalidEmaid on a bad shape or check digit."""
    compact = normalise(value)
    found = _SHAPE.match(compact)
    if found is None:
        raise InvalidEmaid(value, "expected 2 letters, 3 and 9 letters or digits, a check digit")
    country, provider, instance, check = found.groups()
    expected = check_digit(compact[:_BODY])
    if not check:
        if require_check:
            raise InvalidEmaid(value, "the check digit is missing")
        check = expected
    elif check != expected:
        raise InvalidEmaid(value, f"check digit {check} should be {expected}")
    return Emaid(country, provider, instance, check)
