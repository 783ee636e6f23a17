"""CCEE `pld_horario` rows: both CSV layouts (2021-2024 quoted, 2025+ plain) and CKAN records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import msgspec

from sigec_actors.errors import SigecError
from sigec_actors.v2g.pricing import Submarket

BRT = ZoneInfo("America/Sao_Paulo")
HEADER = ("MES_REFERENCIA", "SUBMERCADO", "PERIODO_COMERCIALIZACAO", "DIA", "HORA", "PLD_HORA")
REQUIRED = ("MES_REFERENCIA", "SUBMERCADO", "DIA", "HORA", "PLD_HORA")
SUBMARKETS: dict[str, Submarket] = {
    "SUDESTE": Submarket.SE,
    "SUDESTE/CENTRO-OESTE": Submarket.SE,
    "SE/CO": Submarket.SE,
    "SE": Submarket.SE,
    "SECO": Submarket.SE,
    "SUL": Submarket.S,
    "S": Submarket.S,
    "NORDESTE": Submarket.NE,
    "NE": Submarket.NE,
    "NORTE": Submarket.N,
    "N": Submarket.N,
}
CCEE_NAMES = {
    Submarket.SE: "SUDESTE",
    Submarket.S: "SUL",
    Submarket.NE: "NORDESTE",
    Submarket.N: "NORTE",
}


class PldRow(msgspec.Struct, frozen=True):
    """One hourly PLD as CCEE publishes it (not yet clamped), with its line for error reports."""

    line: int
    submarket: Submarket
    hour_start: datetime
    pld_centavos_per_mwh: int


class RowError(msgspec.Struct, frozen=True):
    line: int
    reason: str


class ParsedPld(msgspec.Struct, frozen=True):
    rows: list[PldRow]
    errors: list[RowError]


class BadRow(SigecError):
    """A row that is not a valid hourly PLD; `line` is 1-based (the header is line 1)."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


class BadPldFile(SigecError):
    """The file is not a CCEE pld_horario CSV at all (no usable header)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not a CCEE pld_horario CSV: {reason}")


def _cell(value: object) -> str:
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"').strip()
    return text


def _centavos(text: str) -> int:
    """R$/MWh as written by CCEE (`.` or `,` decimal) to integer centavos, half-even."""
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"PLD_HORA {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"PLD_HORA {text!r} is not a finite number")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _hour_start(month: str, day: str, hour: str) -> datetime:
    """MES_REFERENCIA (AAAAMM) + DIA + HORA, local time in Sao Paulo, as a UTC instant."""
    if len(month) != 6 or not month.isdigit():
        raise ValueError(f"MES_REFERENCIA {month!r} is not AAAAMM")
    if not (day.isdigit() and hour.isdigit()):
        raise ValueError(f"DIA {day!r} / HORA {hour!r} must be integers")
    if not 0 <= int(hour) <= 23:
        raise ValueError(f"HORA {hour!r} is not in 0..23")
    local = datetime(int(month[:4]), int(month[4:]), int(day), int(hour), tzinfo=BRT)
    return local.astimezone(UTC)


def parse_record(record: Mapping[str, object], line: int) -> PldRow:
    """One row (a CSV line split by header, or a CKAN datastore record); raises BadRow."""
    try:
        cells = {key: _cell(record[key]) for key in REQUIRED}
    except KeyError as exc:
        raise BadRow(line, f"missing column {exc.args[0]}") from None
    name = cells["SUBMERCADO"].upper().replace(" ", "")
    if name not in SUBMARKETS:
        raise BadRow(line, f"unknown SUBMERCADO {cells['SUBMERCADO']!r}")
    try:
        hour_start = _hour_start(cells["MES_REFERENCIA"], cells["DIA"], cells["HORA"])
        pld = _centavos(cells["PLD_HORA"])
    except ValueError as exc:
        raise BadRow(line, str(exc)) from None
    return PldRow(line, SUBMARKETS[name], hour_start, pld)


def decode(data: bytes) -> str:
    """CCEE files are latin-1; a UTF-8 byte-order mark, if any, is dropped."""
    return data.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def parse_csv(data: bytes) -> ParsedPld:
    """Every row of a `;`-separated pld_horario CSV; bad rows are reported, not fatal."""
    lines = decode(data).splitlines()
    if not lines:
        raise BadPldFile("empty file")
    header = [_cell(c).upper() for c in lines[0].split(";")]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadPldFile(f"header lacks {', '.join(missing)}")
    rows: list[PldRow] = []
    errors: list[RowError] = []
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        cells = text.split(";")
        if len(cells) != len(header):
            errors.append(RowError(number, f"{len(cells)} fields, the header has {len(header)}"))
            continue
        try:
            rows.append(parse_record(dict(zip(header, cells, strict=True)), number))
        except BadRow as exc:
            errors.append(RowError(exc.line, exc.reason))
    return ParsedPld(rows, errors)


def to_csv(rows: Iterable[tuple[Submarket, datetime, int]]) -> str:
    """Rows (submarket, UTC hour start, centavos/MWh) in the 2025+ layout: plain, `;`, LF."""
    out = [";".join(HEADER)]
    for submarket, hour_start, centavos in rows:
        local = hour_start.astimezone(BRT)
        period = (local.day - 1) * 24 + local.hour + 1
        reais = f"{centavos // 100}.{centavos % 100:02d}"
        out.append(
            f"{local:%Y%m};{CCEE_NAMES[submarket]};{period};{local.day};{local.hour};{reais}"
        )
    return "\n".join(out) + "\n"
