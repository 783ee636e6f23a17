"""EMAID parsing and the eMI3 check digit against the published vectors."""

from __future__ import annotations

import pytest

from sigec_actors.pki.emaid import InvalidEmaid, check_digit, normalise, parse

VECTORS = [  # mobilityid's CheckDigitSpec, the eMI3 v1.0 example, CitrineOS, the brief
    ("NN123ABCDEFGHI", "T"), ("FRXYZ123456789", "2"), ("ITA1B2C3E4F5G6", "4"),
    ("ESZU8WOX834H1D", "R"), ("PT73902837ABCZ", "Z"), ("DE83DUIEN83QGZ", "D"),
    ("DE83DUIEN83ZGQ", "M"), ("DE8AA001234567", "0"), ("DE8AACA2B3C4D5", "L"),
    ("NL123C10028948", "M"), ("BRXXXC12345678", "X"),
]


@pytest.mark.parametrize(("body", "digit"), VECTORS)
def test_check_digit_vectors(body: str, digit: str) -> None:
    assert check_digit(body) == digit
    assert parse(body + digit).compact == body + digit


def test_hyphenated_lower_case_is_normalised() -> None:
    emaid = parse("br-xxx-c12345678-x")
    assert emaid.compact == "BRXXXC12345678X"
    assert emaid.display == "BR-XXX-C12345678-X"
    assert normalise("BR-XXX-C12345678-X") == "BRXXXC12345678X"


@pytest.mark.parametrize("value", [
    "BRXXXC12345678Y",  # wrong check digit
    "BRXXXC12345687X",  # adjacent transposition
    "B1XXXC12345678X",  # country not letters
    "BRXXXC1234567",    # too short
    "BRXXXC12345678XX",  # too long
    "BRXX#C12345678X",  # not alphanumeric
])
def test_bad_emaids_are_refused(value: str) -> None:
    with pytest.raises(InvalidEmaid):
        parse(value)


def test_check_digit_may_be_required_or_computed() -> None:
    with pytest.raises(InvalidEmaid, match="missing"):
        parse("BRXXXC12345678")
    assert parse("BRXXXC12345678", require_check=False).check == "X"
