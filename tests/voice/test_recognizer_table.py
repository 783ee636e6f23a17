"""The offline recognizer on 70+ utterances in PT-BR and EN: typos, numbers as words, accents,
missing slots and ambiguity (which must give a question, never a guess)."""

from __future__ import annotations

from typing import Any

import pytest

from sigec_actors.voice.intents import IntentName as I
from sigec_actors.voice.rules import recognize

STATIONS = ["CP-001", "CP-012", "CP-120", "SHOPPING-IBIRAPUERA", "PAULISTA-01", "PAULISTA-02"]
ASK = object()  # the answer is a question (missing slot, ambiguity, unknown)

# (utterance, language, intent or None, slots expected (subset) or ASK)
CASES: list[tuple[str, str, I | None, Any]] = [
    # start charging
    ("inicia a recarga no carregador 12", "pt-BR", I.START_CHARGING, {"station": "CP-012"}),
    ("Inicia a recarga no carregador doze", "pt-BR", I.START_CHARGING, {"station": "CP-012"}),
    ("iniciar carregamento na estação cento e vinte", "pt-BR", I.START_CHARGING,
     {"station": "CP-120"}),
    ("comece a carregar no posto doze", "pt-BR", I.START_CHARGING, {"station": "CP-012"}),
    ("comece a carregar no posto um", "pt-BR", I.START_CHARGING, ASK),  # CP-001 / PAULISTA-01
    ("quero carregar no CP-012 conector 2", "pt-BR", I.START_CHARGING,
     {"station": "CP-012", "connector": 2}),
    ("inicia a recraga no carregador 12", "pt-BR", I.START_CHARGING, {"station": "CP-012"}),
    ("inicia o carregamneto no shopping ibirapuera", "pt-BR", I.START_CHARGING, ASK),
    ("inicia a recarga no carregador shopping ibirapuera", "pt-BR", I.START_CHARGING,
     {"station": "SHOPPING-IBIRAPUERA"}),
    ("inicia a recarga", "pt-BR", I.START_CHARGING, ASK),
    ("inicia a recarga no carregador paulista", "pt-BR", I.START_CHARGING, ASK),
    ("inicia a recarga no carregador 99", "pt-BR", I.START_CHARGING, ASK),
    ("start charging at station 12", "en", I.START_CHARGING, {"station": "CP-012"}),
    ("start charging at station twelve", "en", I.START_CHARGING, {"station": "CP-012"}),
    ("please start a charging session on charger one hundred and twenty", "en",
     I.START_CHARGING, {"station": "CP-120"}),
    ("start chargign at station 12 connector two", "en", I.START_CHARGING,
     {"station": "CP-012", "connector": 2}),
    ("start charging at station 1", "en", I.START_CHARGING, ASK),  # CP-001 or PAULISTA-01
    ("begin charging", "en", I.START_CHARGING, ASK),
    # stop charging
    ("para a recarga", "pt-BR", I.STOP_CHARGING, {}),
    ("pare o carregamento por favor", "pt-BR", I.STOP_CHARGING, {}),
    ("encerrar minha sessão de recarga", "pt-BR", I.STOP_CHARGING, {}),
    ("finaliza a recarga no carregador 12", "pt-BR", I.STOP_CHARGING, {"station": "CP-012"}),
    ("stop my charging", "en", I.STOP_CHARGING, {}),
    ("stop charging", "en", I.STOP_CHARGING, {}),
    ("end the charging session", "en", I.STOP_CHARGING, {}),
    # status
    ("como está minha recarga", "pt-BR", I.SESSION_STATUS, {}),
    ("qual o status da recarga", "pt-BR", I.SESSION_STATUS, {}),
    ("how is my charging going", "en", I.SESSION_STATUS, {}),
    ("charging status", "en", I.SESSION_STATUS, {}),
    # wallet
    ("qual é o meu saldo", "pt-BR", I.WALLET_BALANCE, {}),
    ("quanto tenho na carteira", "pt-BR", I.WALLET_BALANCE, {}),
    ("saldo", "pt-BR", I.WALLET_BALANCE, {}),
    ("what is my balance", "en", I.WALLET_BALANCE, {}),
    ("how much money is in my wallet", "en", I.WALLET_BALANCE, {}),
    ("whats my ballance", "en", I.WALLET_BALANCE, {}),
    # top up
    ("coloca cinquenta reais na carteira", "pt-BR", I.TOP_UP, {"amount_centavos": 5000}),
    ("adicionar R$ 20,50 no saldo", "pt-BR", I.TOP_UP, {"amount_centavos": 2050}),
    ("recarregar a carteira com cem reais", "pt-BR", I.TOP_UP, {"amount_centavos": 10000}),
    ("adiciona dinheiro na carteira", "pt-BR", I.TOP_UP, ASK),
    ("top up my wallet with 30 reais", "en", I.TOP_UP, {"amount_centavos": 3000}),
    ("add twenty five reais to my wallet", "en", I.TOP_UP, {"amount_centavos": 2500}),
    ("deposit 10 reais by pix", "en", I.TOP_UP, {"amount_centavos": 1000}),
    # nearby
    ("carregadores perto de mim", "pt-BR", I.NEARBY_STATIONS, {}),
    ("onde tem um posto de recarga próximo", "pt-BR", I.NEARBY_STATIONS, {}),
    ("estações a 5 km", "pt-BR", None, ASK),
    ("carregadores próximos num raio de 5 km", "pt-BR", I.NEARBY_STATIONS, {"radius_km": 5}),
    ("find chargers near me", "en", I.NEARBY_STATIONS, {}),
    ("where is the nearest station", "en", I.NEARBY_STATIONS, {}),
    # reserve
    ("reserva o carregador 12", "pt-BR", I.RESERVE, {"station": "CP-012"}),
    ("quero reservar o CP-001 conector 1", "pt-BR", I.RESERVE,
     {"station": "CP-001", "connector": 1}),
    ("reservar um carregador", "pt-BR", I.RESERVE, ASK),
    ("reserve station one hundred twenty", "en", I.RESERVE, {"station": "CP-120"}),
    ("book charger 12 please", "en", I.RESERVE, {"station": "CP-012"}),
    # grid price
    ("qual o preço da energia agora", "pt-BR", I.GRID_PRICE, {}),
    ("quanto está o PLD", "pt-BR", I.GRID_PRICE, {}),
    ("what is the grid price", "en", I.GRID_PRICE, {}),
    ("electricity price now", "en", I.GRID_PRICE, {}),
    # V2G start / stop
    ("vende energia do carro até quarenta por cento", "pt-BR", I.START_V2G, {"min_soc": 40}),
    ("inicia a descarga V2G até 30%", "pt-BR", I.START_V2G, {"min_soc": 30}),
    ("descarregar o carro mantendo no mínimo cinquenta por cento", "pt-BR", I.START_V2G,
     {"min_soc": 50}),
    ("start v2g down to 35 percent", "en", I.START_V2G, {"min_soc": 35}),
    ("sell energy from my car", "en", I.START_V2G, ASK),
    ("discharge my car to the grid keeping sixty percent", "en", I.START_V2G, {"min_soc": 60}),
    ("para a descarga", "pt-BR", I.STOP_V2G, {}),
    ("parar o v2g", "pt-BR", I.STOP_V2G, {}),
    ("stop discharging", "en", I.STOP_V2G, {}),
    ("stop selling energy", "en", I.STOP_V2G, {}),
    # V2G earnings
    ("quanto o V2G me rendeu esta semana", "pt-BR", I.V2G_EARNINGS, {"period": "week"}),
    ("quanto ganhei com v2g hoje", "pt-BR", I.V2G_EARNINGS, {"period": "day"}),
    ("quanto eu ganhei vendendo energia", "pt-BR", I.V2G_EARNINGS, {"period": "month"}),
    ("how much did V2G earn me this week", "en", I.V2G_EARNINGS, {"period": "week"}),
    ("my v2g earnings this month", "en", I.V2G_EARNINGS, {"period": "month"}),
    ("how much have I earned in total", "en", I.V2G_EARNINGS, {"period": "all"}),
    # help
    ("ajuda", "pt-BR", I.HELP, {}),
    ("o que você faz", "pt-BR", I.HELP, {}),
    ("help", "en", I.HELP, {}),
    ("what can you do", "en", I.HELP, {}),
    # unknown / noise
    ("bom dia", "pt-BR", None, ASK),
    ("the weather is nice", "en", None, ASK),
    ("", "pt-BR", None, ASK),
]


@pytest.mark.parametrize(("text", "lang", "intent", "slots"), CASES,
                         ids=[c[0] or "<empty>" for c in CASES])
def test_utterance(text: str, lang: str, intent: I | None, slots: Any) -> None:
    got = recognize(text, STATIONS)
    assert got.language == lang
    assert (got.intent.name if got.intent else None) == intent, got
    if slots is ASK:
        assert got.clarify, got
    else:
        assert got.clarify is None, got
        assert got.intent is not None and slots.items() <= got.intent.slots.items(), got


def test_the_table_is_large_and_bilingual() -> None:
    assert len(CASES) >= 60
    assert sum(c[1] == "en" for c in CASES) >= 25 and sum(c[1] == "pt-BR" for c in CASES) >= 35
