"""The driver's tariff as text (OCPP 2.0.1 I01): an accepted Authorize carries it in
idTokenInfo.personalMessage, so a station with a display shows the price before charging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from msgspec.structs import replace

from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.transactions.ports import TariffRepository
from sigec_actors.transactions.tariffs import Tariff, pick

LANGUAGE = "pt-BR"


def brl(centavos: int) -> str:
    """`R$ 1.234,56` (Brazilian formatting)."""
    whole, cents = divmod(centavos, 100)
    return f"R$ {whole:,}".replace(",", ".") + f",{cents:02d}"


def tariff_text(tariff: Tariff) -> str:
    """`R$ 1,50/kWh + R$ 0,10/min + R$ 1,00 por recarga` ("Recarga gratuita" when free)."""
    parts = [f"{brl(cents)}{unit}" for cents, unit in (
        (tariff.price_per_kwh_centavos, "/kWh"), (tariff.per_minute_centavos, "/min"),
        (tariff.idle_per_minute_centavos, "/min ociosa"),
        (tariff.session_fee_centavos, " por recarga")) if cents]
    return "Tarifa: " + " + ".join(parts) if parts else "Recarga gratuita"


class TariffMessages:
    """An Authorizer that adds the station's tariff text to every Accepted answer.

    The text is kept `ttl_s` per station (tariffs change rarely; an Authorize should not cost
    a query each time), for at most `max_stations` stations."""

    def __init__(self, inner: Authorizer, tariffs: TariffRepository, default: Tariff,
                 clock: Callable[[], datetime], *, ttl_s: float = 60.0,
                 max_stations: int = 10_000) -> None:
        self._inner = inner
        self._tariffs = tariffs
        self._default = default
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_stations
        self._texts: dict[str, tuple[str, datetime]] = {}

    async def authorize(self, station_id: str, id_token: m.IdToken) -> m.IdTokenInfo:
        info = await self._inner.authorize(station_id, id_token)
        if (info.status is not m.AuthorizationStatusEnum.ACCEPTED
                or info.personal_message is not None):
            return info
        return replace(info, personal_message=m.MessageContent(
            format=m.MessageFormatEnum.UTF8, language=LANGUAGE,
            content=await self._text(station_id)))

    async def _text(self, station_id: str) -> str:
        now = self._clock()
        kept = self._texts.get(station_id)
        if kept is not None and kept[1] > now:
            return kept[0]
        tariff = pick(await self._tariffs.candidates(station_id), station_id, None, None, now,
                      self._default)
        if station_id not in self._texts and len(self._texts) >= self._max:
            del self._texts[next(iter(self._texts))]  # the oldest entry
        text = tariff_text(tariff)
        self._texts[station_id] = (text, now + self._ttl)
        return text
