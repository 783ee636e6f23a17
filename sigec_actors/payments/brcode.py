"""PIX BR Code ("copia e cola"): EMV MPM payloads built, parsed and CRC-checked; QR as PNG.

Build with `static_payload` (a PIX key, optional amount and txid) or `dynamic_payload` (the
PSP's location URL, point of initiation 12); `parse` checks a payload (TLV structure, CRC,
mandatory fields) and returns a `BrCode`; `qr_png` renders any payload as a PNG QR code.
Names and cities are folded to ASCII and cut to 25 / 15 characters; anything that cannot be
made valid raises `InvalidBrCodeField` naming the field. Errors are `BrCodeError`s.
"""

from __future__ import annotations

import base64
import io
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import segno

from sigec_actors.errors import SigecError

GUI = "br.gov.bcb.pix"
MAX_PAYLOAD = 512  # EMV MPM: a payload is at most 512 characters
NAME_MAX = 25
CITY_MAX = 15
TXID_MAX = 25
NO_TXID = "***"
MAX_AMOUNT_CENTAVOS = 999_999_999_999  # "9999999999.99": field 54 holds at most 13 chars
_TXID = re.compile(r"[A-Za-z0-9]{1,25}")
_AMOUNT = re.compile(r"(?P<reais>[0-9]{1,10})(?:\.(?P<cents>[0-9]{1,2}))?")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")
_EVP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGITS = re.compile(r"[0-9]+")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_KEY_MAX = 77  # tag 26 holds at most 99: GUI (18) + "01" + length (4) + key


class BrCodeError(SigecError):
    """Base of the BR Code errors."""


class InvalidBrCodeField(BrCodeError):
    """An input to a BR Code (or a field of a parsed one) is invalid; `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"BR Code field {field}: {problem}")


class MalformedBrCode(BrCodeError):
    """The payload is not a TLV sequence (`position` is where reading failed)."""

    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        self.problem = problem
        super().__init__(f"malformed BR Code at {position}: {problem}")


class BrCodeCrcMismatch(BrCodeError):
    """The CRC field does not match the payload (typed wrong, cut, or tampered with)."""

    def __init__(self, stated: str, computed: str) -> None:
        self.stated = stated
        self.computed = computed
        super().__init__(f"BR Code CRC {stated} does not match the payload ({computed})")


class Initiation(StrEnum):
    """Field 01: a static code can be paid many times; a dynamic one (12) once."""

    STATIC = "11"
    DYNAMIC = "12"


@dataclass(frozen=True)
class BrCode:
    """A parsed BR Code. `key` is set for static codes, `url` (no scheme) for dynamic ones."""

    initiation: Initiation
    name: str
    city: str
    txid: str = NO_TXID
    key: str | None = None
    url: str | None = None
    amount_centavos: int | None = None
    info: str | None = None
    payload: str = ""


def crc16(data: bytes) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out), 4 hex."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    """One EMV field: 2-digit tag, 2-digit decimal length, value (at most 99 characters)."""
    if len(value) > 99:
        raise InvalidBrCodeField(tag, f"value of {len(value)} characters exceeds 99")
    return f"{tag}{len(value):02d}{value}"


def ascii_text(value: str, field: str, limit: int) -> str:
    """Fold accents (São -> Sao), drop other non-printable-ASCII, squeeze spaces, cut to
    `limit`; empty after that is an error."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    printable = "".join(ch for ch in folded if " " <= ch <= "~")
    text = " ".join(printable.split())[:limit].rstrip()
    if not text:
        raise InvalidBrCodeField(field, "must hold at least one ASCII letter or digit")
    return text


def format_amount(centavos: int) -> str:
    """Integer centavos as field 54 writes them: 4900 -> "49.00"."""
    if not 0 < centavos <= MAX_AMOUNT_CENTAVOS:
        raise InvalidBrCodeField("amount", f"must be 1..{MAX_AMOUNT_CENTAVOS} centavos")
    return f"{centavos // 100}.{centavos % 100:02d}"


def parse_amount(text: str) -> int:
    """Field 54 back to centavos ("49.00" -> 4900, "0.5" -> 50)."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise InvalidBrCodeField("amount", f"{text!r} is not a decimal amount")
    cents = (match["cents"] or "0").ljust(2, "0")
    return int(match["reais"]) * 100 + int(cents)


def normalize_key(key: str) -> str:
    """A PIX key as the DICT stores it: CPF (11 digits), CNPJ (14), e-mail (lowercase),
    phone (+ and digits) or EVP (lowercase UUID); punctuation of CPF/CNPJ is dropped."""
    raw = key.strip()
    digits = re.sub(r"[.\-/]", "", raw)
    if _DIGITS.fullmatch(digits) and len(digits) in (11, 14):
        return digits
    if _PHONE.fullmatch(raw):
        return raw
    lowered = raw.lower()
    if _EVP.fullmatch(lowered) or (_EMAIL.fullmatch(lowered) and lowered.isascii()):
        if len(lowered) > _KEY_MAX:
            raise InvalidBrCodeField("key", f"longer than {_KEY_MAX} characters")
        return lowered
    raise InvalidBrCodeField("key", "not a CPF, CNPJ, e-mail, +phone or EVP (UUID) key")


def normalize_txid(txid: str | None) -> str:
    """Field 62-05: up to 25 letters and digits, or *** when there is none."""
    if txid is None or txid == NO_TXID:
        return NO_TXID
    if not _TXID.fullmatch(txid):
        raise InvalidBrCodeField("txid", f"must be 1..{TXID_MAX} ASCII letters or digits")
    return txid


def _assemble(initiation: Initiation | None, account: str, name: str, city: str,
              amount_centavos: int | None, txid: str | None) -> str:
    head = tlv("00", "01") + (tlv("01", initiation.value) if initiation else "")
    amount = tlv("54", format_amount(amount_centavos)) if amount_centavos is not None else ""
    body = (head + tlv("26", account) + tlv("52", "0000") + tlv("53", "986") + amount
            + tlv("58", "BR") + tlv("59", ascii_text(name, "name", NAME_MAX))
            + tlv("60", ascii_text(city, "city", CITY_MAX))
            + tlv("62", tlv("05", normalize_txid(txid))) + "6304")
    payload = body + crc16(body.encode("ascii"))
    if len(payload) > MAX_PAYLOAD:
        raise InvalidBrCodeField("payload", f"{len(payload)} characters exceed {MAX_PAYLOAD}")
    return payload


def static_payload(key: str, name: str, city: str, *, amount_centavos: int | None = None,
                   txid: str | None = None, info: str | None = None,
                   single_use: bool = False, gui: str = GUI) -> str:
    """A static BR Code paying `key`; without an amount the payer types one. `info` (26-02)
    is shown to the payer; `single_use` sets field 01 to 12, otherwise 01 is omitted."""
    account = tlv("00", gui) + tlv("01", normalize_key(key))
    if info:
        account += tlv("02", ascii_text(info, "info", 99 - len(account) - 4))
    if len(account) > 99:
        raise InvalidBrCodeField("key", "merchant account information exceeds 99 characters")
    initiation = Initiation.DYNAMIC if single_use else None
    return _assemble(initiation, account, name, city, amount_centavos, txid)


def dynamic_payload(url: str, name: str, city: str, *, amount_centavos: int | None = None,
                    txid: str | None = None, gui: str = GUI) -> str:
    """A dynamic BR Code (field 01 = 12) pointing at the PSP's payload location `url`
    (written without its https:// scheme, as the manual asks)."""
    location = re.sub(r"^https://", "", url.strip(), flags=re.IGNORECASE)
    if not location or not location.isascii() or any(ch <= " " for ch in location):
        raise InvalidBrCodeField("url", "must be a non-empty ASCII URL without spaces")
    if len(location) > 99 - 18 - 4:
        raise InvalidBrCodeField("url", "longer than 77 characters")
    account = tlv("00", gui) + tlv("25", location)
    return _assemble(Initiation.DYNAMIC, account, name, city, amount_centavos, txid)


def parse_tlv(text: str) -> list[tuple[str, str]]:
    """Split a TLV sequence into (tag, value) pairs; a bad tag or length is MalformedBrCode."""
    fields: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        head = text[pos:pos + 4]
        if len(head) < 4 or not head.isdigit() or not head.isascii():
            raise MalformedBrCode(pos, f"expected a 2-digit tag and length, got {head!r}")
        end = pos + 4 + int(head[2:])
        if end > len(text):
            raise MalformedBrCode(pos, f"field {head[:2]} runs past the end")
        fields.append((head[:2], text[pos + 4:end]))
        pos = end
    return fields


def check_crc(payload: str) -> None:
    """The payload ends in 6304 + the CRC of everything before the CRC's 4 characters."""
    stated = payload[-4:]
    if len(payload) < 8 or payload[-8:-4] != "6304" or not _HEX4.fullmatch(stated):
        raise MalformedBrCode(max(len(payload) - 8, 0), "does not end with a 6304 CRC field")
    computed = crc16(payload[:-4].encode("utf-8"))
    if stated.upper() != computed:
        raise BrCodeCrcMismatch(stated, computed)


def parse(payload: str) -> BrCode:
    """Check and decode a BR Code: TLV structure, CRC, format 01, GUI, BRL, BR, name, city."""
    text = payload.strip()
    check_crc(text)
    fields = dict(parse_tlv(text))
    _expect(fields, "00", "01")
    _expect(fields, "53", "986")
    _expect(fields, "58", "BR")
    account = dict(parse_tlv(_required(fields, "26")))
    if _required(account, "00", "26-00").lower() != GUI:
        raise InvalidBrCodeField("26-00", f"GUI is not {GUI}")
    if "01" not in account and "25" not in account:
        raise InvalidBrCodeField("26", "holds neither a key (01) nor a URL (25)")
    extra = dict(parse_tlv(fields.get("62", "")))
    return BrCode(
        initiation=Initiation.DYNAMIC if fields.get("01") == "12" else Initiation.STATIC,
        name=_required(fields, "59"), city=_required(fields, "60"),
        txid=extra.get("05", NO_TXID), key=account.get("01"), url=account.get("25"),
        amount_centavos=parse_amount(fields["54"]) if "54" in fields else None,
        info=account.get("02"), payload=text)


def _required(fields: dict[str, str], tag: str, name: str | None = None) -> str:
    value = fields.get(tag)
    if not value:
        raise InvalidBrCodeField(name or tag, "is missing")
    return value


def _expect(fields: dict[str, str], tag: str, wanted: str) -> None:
    if _required(fields, tag) != wanted:
        raise InvalidBrCodeField(tag, f"must be {wanted}, not {fields[tag]!r}")


def qr_png(payload: str, *, scale: int = 6, border: int = 4) -> bytes:
    """The payload as a QR code PNG (error correction M, byte mode, as payment apps expect)."""
    qr = segno.make_qr(payload, error="m", mode="byte", boost_error=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_png_base64(payload: str) -> str:
    """`qr_png` as base64 text, the way the REST API carries it."""
    return base64.b64encode(qr_png(payload)).decode("ascii")
