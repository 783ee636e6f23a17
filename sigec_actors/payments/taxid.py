"""Brazilian tax ids: CPF and CNPJ check digits (formatted or bare), as boleto payers need.

`parse_tax_id("123.456.789-09")` returns a `TaxId` (kind, canonical digits) or raises
`InvalidTaxId` (its `field` is "taxId", its `reason` says what was wrong, for a 422).
Sequences of one repeated digit (000.000.000-00, 11111111111111) pass the arithmetic but are
not issued, so they are refused. CNPJs may carry letters in their first 12 positions (the
alphanumeric CNPJ issued from July 2026; each character counts as its code minus 48, so
all-digit CNPJs compute as before); the two check digits are always digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sigec_actors.errors import SigecError

CPF_LEN = 11
CNPJ_LEN = 14
_CPF = re.compile(r"[0-9]{11}|[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}")
_CNPJ = re.compile(r"[0-9A-Z]{12}[0-9]{2}"
                   r"|[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}/[0-9A-Z]{4}-[0-9]{2}")
_PUNCT = re.compile(r"[.\-/]")
_CNPJ_W1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_W2 = (6, *_CNPJ_W1)


class TaxIdKind(StrEnum):
    CPF = "cpf"
    CNPJ = "cnpj"


class InvalidTaxId(SigecError):
    """Not a valid CPF or CNPJ; `reason` says why (the value itself is not echoed)."""

    def __init__(self, reason: str, field: str = "taxId") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class TaxId:
    """A checked CPF or CNPJ: `value` holds its 11 or 14 characters without punctuation."""

    kind: TaxIdKind
    value: str

    @property
    def formatted(self) -> str:
        """000.000.000-00 for a CPF, 00.000.000/0000-00 for a CNPJ."""
        v = self.value
        if self.kind is TaxIdKind.CPF:
            return f"{v[:3]}.{v[3:6]}.{v[6:9]}-{v[9:]}"
        return f"{v[:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:]}"


def _digit(total: int) -> str:
    rest = total % 11
    return "0" if rest < 2 else str(11 - rest)


def cpf_check_digits(base: str) -> str:
    """The two check digits of a CPF's first 9 digits."""
    if len(base) != 9 or not base.isdigit() or not base.isascii():
        raise InvalidTaxId("a CPF base is 9 digits")
    first = _digit(sum(int(c) * w for c, w in zip(base, range(10, 1, -1), strict=True)))
    body = base + first
    return first + _digit(sum(int(c) * w for c, w in zip(body, range(11, 1, -1), strict=True)))


def cnpj_check_digits(base: str) -> str:
    """The two check digits of a CNPJ's first 12 characters (digits or capital letters)."""
    if len(base) != 12 or not re.fullmatch(r"[0-9A-Z]{12}", base):
        raise InvalidTaxId("a CNPJ base is 12 digits or capital letters")
    first = _digit(sum((ord(c) - 48) * w for c, w in zip(base, _CNPJ_W1, strict=True)))
    body = base + first
    return first + _digit(sum((ord(c) - 48) * w for c, w in zip(body, _CNPJ_W2, strict=True)))


def parse_tax_id(value: str, field: str = "taxId") -> TaxId:
    """A CPF (11 digits) or CNPJ (14 characters), bare or formatted, with valid check digits."""
    text = value.strip().upper()
    if _CPF.fullmatch(text):
        kind, base_len, check = TaxIdKind.CPF, 9, cpf_check_digits
    elif _CNPJ.fullmatch(text):
        kind, base_len, check = TaxIdKind.CNPJ, 12, cnpj_check_digits
    else:
        raise InvalidTaxId("must be a CPF (11 digits) or a CNPJ (14 characters)", field)
    bare = _PUNCT.sub("", text)
    if len(set(bare)) == 1:
        raise InvalidTaxId(f"a {kind.name} of one repeated digit is not issued", field)
    if check(bare[:base_len]) != bare[base_len:]:
        raise InvalidTaxId(f"{kind.name} check digits do not match", field)
    return TaxId(kind, bare)


def is_valid_cpf(value: str) -> bool:
    """True for a valid CPF (bare or formatted)."""
    return _valid(value, TaxIdKind.CPF)


def is_valid_cnpj(value: str) -> bool:
    """True for a valid CNPJ (bare or formatted)."""
    return _valid(value, TaxIdKind.CNPJ)


def _valid(value: str, kind: TaxIdKind) -> bool:
    try:
        return parse_tax_id(value).kind is kind
    except InvalidTaxId:
        return False
