"""CPF and CNPJ check digits: known numbers, generated valid ones, and every single-digit change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.payments.taxid import (
    InvalidTaxId,
    TaxIdKind,
    cnpj_check_digits,
    cpf_check_digits,
    is_valid_cnpj,
    is_valid_cpf,
    parse_tax_id,
)

# Published examples: a CPF used in many validators, the Receita's CNPJ example, and the
# Receita's alphanumeric CNPJ example (IN RFB 2.229/2024, issued from July 2026).
KNOWN = [("529.982.247-25", TaxIdKind.CPF, "52998224725"),
         ("52998224725", TaxIdKind.CPF, "52998224725"),
         ("11.222.333/0001-81", TaxIdKind.CNPJ, "11222333000181"),
         ("11222333000181", TaxIdKind.CNPJ, "11222333000181"),
         ("12.ABC.345/01DE-35", TaxIdKind.CNPJ, "12ABC34501DE35"),
         (" 12abc34501de35 ", TaxIdKind.CNPJ, "12ABC34501DE35")]


@pytest.mark.parametrize(("text", "kind", "value"), KNOWN)
def test_known_numbers(text: str, kind: TaxIdKind, value: str) -> None:
    tax_id = parse_tax_id(text)
    assert (tax_id.kind, tax_id.value) == (kind, value)
    assert parse_tax_id(tax_id.formatted) == tax_id


@pytest.mark.parametrize("text", [
    "529.982.247-26", "52998224724", "11.222.333/0001-82", "12.ABC.345/01DE-36",
    "000.000.000-00", "11111111111", "99999999999", "00000000000000", "77.777.777/7777-77",
    "", "123", "5299822472", "529982247250", "529.982.24725", "529-982-247.25",
    "52998224725x", "11222333000181\x00", "\u0661" * 11, "12.ABC.345/01DE-3E",
])
def test_invalid_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidTaxId) as caught:
        parse_tax_id(text, field="payer.taxId")
    assert caught.value.field == "payer.taxId"
    assert text.strip() == "" or text not in str(caught.value)  # the value is never echoed
    assert not is_valid_cpf(text) and not is_valid_cnpj(text)


def test_kind_predicates() -> None:
    assert is_valid_cpf("529.982.247-25") and not is_valid_cnpj("529.982.247-25")
    assert is_valid_cnpj("11222333000181") and not is_valid_cpf("11222333000181")


def test_bases_must_have_the_right_shape() -> None:
    for bad in ("12345678", "1234567890", "12345678a"):
        with pytest.raises(InvalidTaxId):
            cpf_check_digits(bad)
    for bad in ("12345678000", "1234567800011", "12345678000a"):
        with pytest.raises(InvalidTaxId):
            cnpj_check_digits(bad)


cpf_bases = st.text("0123456789", min_size=9, max_size=9).filter(lambda b: len(set(b)) > 1)
cnpj_bases = st.text("0123456789", min_size=12, max_size=12).filter(lambda b: len(set(b)) > 1)
alnum_cnpj_bases = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12,
                           max_size=12).filter(lambda b: len(set(b)) > 1)


@given(cpf_bases)
def test_generated_cpfs_pass(base: str) -> None:
    number = base + cpf_check_digits(base)
    assert parse_tax_id(number).kind is TaxIdKind.CPF
    assert is_valid_cpf(parse_tax_id(number).formatted)


@given(st.one_of(cnpj_bases, alnum_cnpj_bases))
def test_generated_cnpjs_pass(base: str) -> None:
    number = base + cnpj_check_digits(base)
    assert parse_tax_id(number).kind is TaxIdKind.CNPJ
    assert is_valid_cnpj(parse_tax_id(number).formatted)


def _remainders(number: str, w1: tuple[int, ...], w2: tuple[int, ...]) -> tuple[int, int]:
    """The two mod-11 remainders, computed here independently of the module."""
    first = sum((ord(c) - 48) * w for c, w in zip(number, w1, strict=False)) % 11
    second = sum((ord(c) - 48) * w for c, w in zip(number, w2, strict=False)) % 11
    return first, second


CPF_W = (tuple(range(10, 1, -1)), tuple(range(11, 1, -1)))
CNPJ_W = ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))


def _blind_spot(number: str, changed: str, weights: tuple[tuple[int, ...], ...]) -> bool:
    """A change no check digit sees: remainders 0 and 1 both give check digit 0, and the CPF's
    second sum weighs its first digit 11 (a change there leaves that remainder alone), so a
    change keeping each remainder or moving it between 0 and 1 keeps both check digits."""
    before, after = _remainders(number, *weights), _remainders(changed, *weights)
    return all(b == a or {b, a} == {0, 1} for b, a in zip(before, after, strict=True))


def test_the_schemes_blind_spot_exists() -> None:
    # 453.428.867-08 and 353.428.867-08 are both valid: the first digit moved r1 from 0 to 1
    # and left r2 alone. ~0.2 % of random single-digit CPF changes (0.03 % for CNPJ) are such.
    assert is_valid_cpf("45342886708") and is_valid_cpf("35342886708")
    assert _blind_spot("45342886708", "35342886708", CPF_W)


def _change(number: str, position: int, delta: int) -> str:
    return number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]


@given(cpf_bases, st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_change_breaks_a_cpf(base: str, position: int, delta: int) -> None:
    number = base + cpf_check_digits(base)
    changed = _change(number, position, delta)
    assert is_valid_cpf(changed) == (position < 9 and _blind_spot(number, changed, CPF_W))


@given(cnpj_bases, st.integers(0, 13), st.integers(1, 9))
def test_any_single_digit_change_breaks_a_cnpj(base: str, position: int, delta: int) -> None:
    number = base + cnpj_check_digits(base)
    changed = _change(number, position, delta)
    assert is_valid_cnpj(changed) == (position < 12 and _blind_spot(number, changed, CNPJ_W))
