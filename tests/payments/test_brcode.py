"""PIX BR Code: CRC-16/CCITT-FALSE, payloads rebuilt byte for byte from published vectors, parsing."""

from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.payments import brcode
from sigec_actors.payments.brcode import (
    BrCodeCrcMismatch,
    Initiation,
    InvalidBrCodeField,
    MalformedBrCode,
)

# Golden vectors (docs: domain reference §4.4). The dynamic and static examples of the field
# walk-through gist (matheusb-comp/1efa205b...), a third-party static payload, and the BCB
# manual's static example. The gist's static example is malformed (it declares 62 08 around the
# 7-character 0503***); its stated 170E is the CRC of that malformed string, 04ED the CRC of the
# corrected one, so only the corrected string is a golden vector.
GIST_DYNAMIC = ("00020101021226770014BR.GOV.BCB.PIX2555pix.example.com/qr/93598be0-1bd0-4997-"
                "8318-81776a1d8a995204000053039865802BR5907EMPRESA6009SAO PAULO62070503***"
                "6304EEAB")
GIST_STATIC_MALFORMED = ("00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.66"
                         "5802BR5907EMPRESA6008BRASILIA62080503***6304170E")
GIST_STATIC_FIXED = ("00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.66"
                     "5802BR5907EMPRESA6008BRASILIA62070503***630404ED")
THIRD_PARTY_STATIC = ("00020126360014BR.GOV.BCB.PIX0114+5599981916389520400005303986540549.00"
                      "5802BR5910AGCPARKING6006BRASIL62150511AGC480F35B363041A95")
BCB_MANUAL_STATIC = ("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
                     "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D")
UPPER_GUI = "BR.GOV.BCB.PIX"  # the gist's and the third party's spelling (the GUI is case-free)


def test_crc16_check_value() -> None:
    assert brcode.crc16(b"123456789") == "29B1"
    assert brcode.crc16(b"") == "FFFF"


def test_dynamic_vector_rebuilt_byte_for_byte() -> None:
    built = brcode.dynamic_payload(
        "https://pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99", "EMPRESA",
        "SAO PAULO", gui=UPPER_GUI)
    assert built == GIST_DYNAMIC


def test_static_vectors_rebuilt_byte_for_byte() -> None:
    assert brcode.static_payload("+5511943214321", "EMPRESA", "BRASILIA", amount_centavos=6666,
                                 gui=UPPER_GUI) == GIST_STATIC_FIXED
    assert brcode.static_payload("+5599981916389", "AGCPARKING", "BRASIL",
                                 amount_centavos=4900, txid="AGC480F35B3",
                                 gui=UPPER_GUI) == THIRD_PARTY_STATIC
    assert brcode.static_payload("123e4567-e12b-12d1-a456-426655440000", "Fulano de Tal",
                                 "BRASILIA") == BCB_MANUAL_STATIC


def test_the_gists_malformed_static_example_is_refused() -> None:
    # its CRC matches its own (malformed) text, but 62 08 swallows the first digit of 6304
    with pytest.raises(MalformedBrCode):
        brcode.parse(GIST_STATIC_MALFORMED)
    assert brcode.crc16(GIST_STATIC_MALFORMED[:-4].encode()) == "170E"


def test_parse_dynamic_vector() -> None:
    code = brcode.parse(GIST_DYNAMIC)
    assert code.initiation is Initiation.DYNAMIC
    assert code.url == "pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99"
    assert (code.key, code.amount_centavos, code.txid) == (None, None, "***")
    assert (code.name, code.city) == ("EMPRESA", "SAO PAULO")


def test_parse_static_vectors() -> None:
    code = brcode.parse(THIRD_PARTY_STATIC)
    assert code.initiation is Initiation.STATIC
    assert (code.key, code.amount_centavos, code.txid) == ("+5599981916389", 4900, "AGC480F35B3")
    assert brcode.parse(GIST_STATIC_FIXED).amount_centavos == 6666
    manual = brcode.parse(BCB_MANUAL_STATIC)
    assert manual.key == "123e4567-e12b-12d1-a456-426655440000" and manual.name == "Fulano de Tal"


@pytest.mark.parametrize("vector", [GIST_DYNAMIC, THIRD_PARTY_STATIC, BCB_MANUAL_STATIC])
def test_any_changed_character_fails_the_crc(vector: str) -> None:
    for i in range(len(vector) - 4):
        changed = vector[:i] + ("1" if vector[i] != "1" else "2") + vector[i + 1:]
        with pytest.raises((BrCodeCrcMismatch, MalformedBrCode, InvalidBrCodeField)):
            brcode.parse(changed)
    with pytest.raises(BrCodeCrcMismatch) as caught:
        brcode.parse(vector[:-4] + "0000")
    assert caught.value.computed == vector[-4:]


def test_lowercase_crc_is_accepted_but_never_written() -> None:
    assert brcode.parse(GIST_DYNAMIC[:-4] + "eeab").payload.endswith("eeab")


def test_single_use_static_and_dynamic_with_amount_and_txid() -> None:
    payload = brcode.static_payload("user@Example.com", "Loja", "Fortaleza",
                                    amount_centavos=1, single_use=True, info="recarga")
    code = brcode.parse(payload)
    assert payload.startswith("000201010212")
    assert (code.key, code.amount_centavos, code.info) == ("user@example.com", 1, "recarga")
    dyn = brcode.parse(brcode.dynamic_payload("psp.example/cob/1", "Loja", "Recife",
                                              amount_centavos=123456, txid="Top1"))
    assert (dyn.url, dyn.amount_centavos, dyn.txid) == ("psp.example/cob/1", 123456, "Top1")


def test_names_and_cities_are_folded_to_ascii_and_cut() -> None:
    payload = brcode.static_payload("12.345.678/0001-95", "Posto Elétrico São João da Barra Ltda",
                                    "  São   José dos Campos ")
    code = brcode.parse(payload)
    assert code.key == "12345678000195"
    assert code.name == "Posto Eletrico Sao Joao d" and len(code.name) == brcode.NAME_MAX
    assert code.city == "Sao Jose dos Ca" and len(code.city) == brcode.CITY_MAX
    assert payload.isascii()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"key": "not a key"}, "key"),
    ({"key": "joão@example.com"}, "key"),
    ({"key": "a" * 70 + "@example.com"}, "key"),
    ({"name": "😀"}, "name"),
    ({"city": "  "}, "city"),
    ({"amount_centavos": 0}, "amount"),
    ({"amount_centavos": -5}, "amount"),
    ({"amount_centavos": brcode.MAX_AMOUNT_CENTAVOS + 1}, "amount"),
    ({"txid": "has-dash"}, "txid"),
    ({"txid": "A" * 26}, "txid"),
])
def test_invalid_static_inputs_name_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"key": "+5585999990000", "name": "Loja", "city": "Fortaleza"}
    args.update(kwargs)
    with pytest.raises(InvalidBrCodeField) as caught:
        brcode.static_payload(**args)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("url", ["", "https://", "pix.example.com/a b", "pix.example.com/ç",
                                 "pix.example.com/" + "x" * 70])
def test_invalid_dynamic_url(url: str) -> None:
    with pytest.raises(InvalidBrCodeField) as caught:
        brcode.dynamic_payload(url, "Loja", "Fortaleza")
    assert caught.value.field == "url"


@pytest.mark.parametrize(("payload", "error"), [
    ("", MalformedBrCode),
    ("6304ABCD", BrCodeCrcMismatch),
    ("6304" + brcode.crc16(b"6304"), InvalidBrCodeField),  # right CRC, nothing else
    ("000201" + "5999" + "6304", MalformedBrCode),
    ("0002016304" + brcode.crc16(b"0002016304"), InvalidBrCodeField),
    ("0002026304" + brcode.crc16(b"0002026304"), InvalidBrCodeField),
])
def test_parse_refuses_broken_payloads(payload: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        brcode.parse(payload)


def test_parse_refuses_another_gui_and_a_missing_key() -> None:
    other = brcode.static_payload("+5585999990000", "Loja", "Fortaleza", gui="br.com.outro")
    with pytest.raises(InvalidBrCodeField) as caught:
        brcode.parse(other)
    assert caught.value.field == "26-00"
    body = ("0002012618" + brcode.tlv("00", brcode.GUI) + "52040000530398658" + "02BR"
            + "5904Loja6009Fortaleza62070503***6304")
    with pytest.raises(InvalidBrCodeField) as no_key:
        brcode.parse(body + brcode.crc16(body.encode()))
    assert no_key.value.field == "26"


@given(
    centavos=st.integers(1, brcode.MAX_AMOUNT_CENTAVOS),
    txid=st.text("ABCxyz0189", min_size=1, max_size=25),
    name=st.text(min_size=1, max_size=40).filter(lambda s: any(c.isascii() and c.isalnum()
                                                               for c in s)),
)
def test_round_trip(centavos: int, txid: str, name: str) -> None:
    payload = brcode.static_payload("+5585999990000", name, "Fortaleza",
                                    amount_centavos=centavos, txid=txid)
    code = brcode.parse(payload)
    assert (code.amount_centavos, code.txid, code.city) == (centavos, txid, "Fortaleza")
    assert code.name == brcode.ascii_text(name, "name", brcode.NAME_MAX)
    assert len(payload) <= brcode.MAX_PAYLOAD and payload.isascii()


@pytest.mark.parametrize(("text", "centavos"), [("49.00", 4900), ("0.5", 50), ("7", 700),
                                                 ("9999999999.99", 999_999_999_999)])
def test_amounts(text: str, centavos: int) -> None:
    assert brcode.parse_amount(text) == centavos
    if "." in text and len(text.split(".")[1]) == 2:
        assert brcode.format_amount(centavos) == text


def test_qr_png_is_a_png_of_the_payload_size() -> None:
    png = brcode.qr_png(GIST_DYNAMIC, scale=4, border=4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width == height and (width // 4 - 8 - 17) % 4 == 0  # 17 + 4 * version modules
    assert base64.b64decode(brcode.qr_png_base64(GIST_DYNAMIC)) == brcode.qr_png(GIST_DYNAMIC)
