"""Tariff text for the driver (I01): an accepted Authorize names the station's tariff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sigec_actors.charge_point.ports import UnknownTokens
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.tariff_text import TariffMessages, brl, tariff_text
from sigec_actors.testing.ocpp import AcceptAllTokens
from sigec_actors.testing.transactions import InMemoryTariffs
from sigec_actors.transactions.tariffs import Tariff

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = m.IdToken(id_token="CARD-1", type=m.IdTokenEnum.ISO14443)


def test_text_in_brazilian_reais() -> None:
    assert brl(123456) == "R$ 1.234,56" and brl(5) == "R$ 0,05"
    assert tariff_text(Tariff(price_per_kwh_centavos=150, session_fee_centavos=100)) == (
        "Tarifa: R$ 1,50/kWh + R$ 1,00 por recarga")
    assert tariff_text(Tariff()) == "Recarga gratuita"


async def test_accepted_answers_carry_the_stations_tariff() -> None:
    tariffs = InMemoryTariffs(lambda: NOW)
    await tariffs.add(Tariff(price_per_kwh_centavos=199, charge_point_id="CP-1"))
    default = Tariff(price_per_kwh_centavos=100)
    accepted = TariffMessages(AcceptAllTokens(), tariffs, default, lambda: NOW)
    info = await accepted.authorize("CP-1", TOKEN)
    assert info.personal_message == m.MessageContent(
        format=m.MessageFormatEnum.UTF8, language="pt-BR", content="Tarifa: R$ 1,99/kWh")
    other = await accepted.authorize("CP-2", TOKEN)  # no tariff of its own: the default
    assert other.personal_message is not None
    assert other.personal_message.content == "Tarifa: R$ 1,00/kWh"
    refused = TariffMessages(UnknownTokens(), tariffs, default, lambda: NOW)
    assert (await refused.authorize("CP-1", TOKEN)).personal_message is None


async def test_the_text_is_kept_a_minute_per_station() -> None:
    tariffs, now = InMemoryTariffs(lambda: NOW), [NOW]
    messages = TariffMessages(AcceptAllTokens(), tariffs, Tariff(), lambda: now[0], ttl_s=60)
    assert (await messages.authorize("CP-1", TOKEN)).personal_message.content == (  # type: ignore[union-attr]
        "Recarga gratuita")
    await tariffs.add(Tariff(price_per_kwh_centavos=120, charge_point_id="CP-1"))
    kept = await messages.authorize("CP-1", TOKEN)
    assert kept.personal_message is not None and kept.personal_message.content == (
        "Recarga gratuita")  # within the minute: no query
    now[0] += timedelta(seconds=61)
    fresh = await messages.authorize("CP-1", TOKEN)
    assert fresh.personal_message is not None
    assert fresh.personal_message.content == "Tarifa: R$ 1,20/kWh"
