"""What the assistant says, in Portuguese (pt-BR) and English (en)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigec_actors.voice.intents import Intent, IntentName

LABELS = {
    IntentName.START_CHARGING: ("iniciar uma recarga", "start charging"),
    IntentName.STOP_CHARGING: ("parar a recarga", "stop charging"),
    IntentName.SESSION_STATUS: ("ver a sua recarga", "check your charging"),
    IntentName.WALLET_BALANCE: ("ver o saldo", "check your balance"),
    IntentName.TOP_UP: ("colocar crédito na carteira", "top up your wallet"),
    IntentName.NEARBY_STATIONS: ("achar carregadores por perto", "find stations nearby"),
    IntentName.RESERVE: ("reservar um carregador", "reserve a station"),
    IntentName.GRID_PRICE: ("ver o preço da energia", "check the grid price"),
    IntentName.START_V2G: ("vender energia do carro (V2G)", "discharge your car (V2G)"),
    IntentName.STOP_V2G: ("parar a descarga V2G", "stop the V2G discharge"),
    IntentName.V2G_EARNINGS: ("ver quanto o V2G rendeu", "check your V2G earnings"),
    IntentName.HELP: ("ajuda", "help"),
}
ASK = {
    "station": ("Em qual carregador?", "Which station?"),
    "min_soc": ("Até quantos por cento de bateria posso descarregar?",
                "Down to what battery percentage may I discharge?"),
    "amount_centavos": ("Quantos reais você quer colocar?", "How many reais should I add?"),
    "location": ("Onde você está? Envie a sua localização.",
                 "Where are you? Send your location."),
}
PERIOD_WORDS = {"day": ("hoje", "today"), "week": ("nesta semana", "this week"),
                "month": ("neste mês", "this month"), "all": ("no total", "in total")}


def _pick(lang: str, pair: tuple[str, str]) -> str:
    return pair[1] if lang == "en" else pair[0]


def brl(centavos: int) -> str:
    sign = "-" if centavos < 0 else ""
    reais, cents = divmod(abs(centavos), 100)
    return f"{sign}R$ {reais:,}".replace(",", ".") + f",{cents:02d}"


def unknown(lang: str) -> str:
    return _pick(lang, (
        "Não entendi. Você pode pedir, por exemplo: \"inicia a recarga no carregador 12\" "
        "ou \"qual é o meu saldo\".",
        "I did not understand. You can say, for example, \"start charging at station 12\" "
        "or \"what is my balance\"."))


def which_of(lang: str, intents: Sequence[IntentName]) -> str:
    options = [_pick(lang, LABELS[i]) for i in intents]
    if lang == "en":
        return "Did you want to " + " or ".join(options) + "?"
    return "Você quer " + " ou ".join(options) + "?"


def ask_for(lang: str, slot: str) -> str:
    return _pick(lang, ASK.get(slot, (f"Qual {slot}?", f"Which {slot}?")))


def slot_problem(lang: str, problem: tuple[str, tuple[str, ...]]) -> str:
    kind, detail = problem
    if kind == "station_ambiguous":
        options = " / ".join(detail)
        return _pick(lang, (f"Qual destes carregadores: {options}?",
                            f"Which of these stations: {options}?"))
    return _pick(lang, (f"Não encontrei o carregador \"{detail[0]}\". Qual carregador?",
                        f"I could not find station \"{detail[0]}\". Which station?"))


def confirm(lang: str, intent: Intent) -> str:
    s = intent.slots
    match intent.name:
        case IntentName.TOP_UP:
            text = (f"Gerar um PIX de {brl(s['amount_centavos'])} para a sua carteira?",
                    f"Create a PIX payment of {brl(s['amount_centavos'])} for your wallet?")
        case IntentName.START_V2G:
            text = (f"Descarregar o carro até {s['min_soc']}% de bateria?",
                    f"Discharge your car down to {s['min_soc']}% battery?")
        case _:
            label = LABELS[intent.name]
            text = (f"Confirma: {label[0]}?", f"Confirm: {label[1]}?")
    return _pick(lang, (text[0] + " Diga sim ou não.", text[1] + " Say yes or no."))


def cancelled(lang: str) -> str:
    return _pick(lang, ("Tudo bem, não fiz nada.", "All right, nothing was done."))


def nothing_pending(lang: str) -> str:
    return _pick(lang, ("Não há nada para confirmar.", "There is nothing to confirm."))


def failed(lang: str, status: int, detail: str) -> str:
    return _pick(lang, (f"Não consegui: {detail} ({status}).",
                        f"That did not work: {detail} ({status})."))


def help_text(lang: str) -> str:
    items = [_pick(lang, LABELS[i]) for i in IntentName if i is not IntentName.HELP]
    return _pick(lang, ("Posso: " + "; ".join(items) + ".", "I can: " + "; ".join(items) + "."))


def done(lang: str, intent: Intent, result: Any) -> str:  # noqa: PLR0911, PLR0912 -- one reply per intent
    """The reply to an executed intent, from what the API answered (`result`)."""
    en = lang == "en"
    r: dict[str, Any] = result if isinstance(result, dict) else {
        "items": result if isinstance(result, list) else []}
    match intent.name:
        case IntentName.START_CHARGING:
            station = intent.slots["station"]
            if r.get("accepted"):
                return (f"Starting charging at {station}." if en
                        else f"Iniciando a recarga no carregador {station}.")
            return (f"Station {station} refused to start ({r.get('status')})." if en
                    else f"O carregador {station} recusou ({r.get('status')}).")
        case IntentName.STOP_CHARGING:
            return "Stopping your charging." if en else "Parando a sua recarga."
        case IntentName.SESSION_STATUS:
            items = r.get("items", [])
            if not items:
                return ("You have no charging session in progress." if en
                        else "Você não tem recarga em andamento.")
            tx = items[0]
            kwh = (tx.get("energyWh") or 0) / 1000
            return (f"Charging at {tx.get('chargePointId')}: {kwh:.1f} kWh so far." if en
                    else f"Recarga no {tx.get('chargePointId')}: {kwh:.1f} kWh até agora.")
        case IntentName.WALLET_BALANCE:
            bal = brl(int(r.get("balanceCentavos", 0)))
            return f"Your balance is {bal}." if en else f"O seu saldo é {bal}."
        case IntentName.TOP_UP:
            return ("Here is your PIX code; the balance updates once it is paid." if en
                    else "Aqui está o seu código PIX; o saldo entra quando for pago.")
        case IntentName.NEARBY_STATIONS:
            near = [f"{i['device']['id']} ({i['distanceKm']:.1f} km)"
                    for i in r.get("items", [])[:3]]
            if not near:
                return "No station nearby." if en else "Nenhum carregador por perto."
            return ("Nearest: " if en else "Mais perto: ") + ", ".join(near) + "."
        case IntentName.RESERVE:
            return (f"Reserved {intent.slots['station']}." if en
                    else f"Reservado o carregador {intent.slots['station']}.")
        case IntentName.GRID_PRICE:
            price = r.get("priceCentavosPerKwh")
            shown = brl(int(price)) + "/kWh" if isinstance(price, int) else "-"
            return (f"Energy sold to the grid now pays {shown}." if en
                    else f"A energia vendida à rede agora paga {shown}.")
        case IntentName.START_V2G:
            return (f"Discharging down to {intent.slots['min_soc']}%." if en
                    else f"Descarregando até {intent.slots['min_soc']}%.")
        case IntentName.STOP_V2G:
            return "Discharge stopped." if en else "Descarga parada."
        case IntentName.V2G_EARNINGS:
            earned = brl(int(r.get("earningsCentavos", 0)))
            when = _pick(lang, PERIOD_WORDS[intent.slots.get("period", "month")])
            return f"V2G earned you {earned} {when}." if en else f"O V2G rendeu {earned} {when}."
        case IntentName.HELP:
            return help_text(lang)
