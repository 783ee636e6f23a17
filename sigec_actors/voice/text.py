"""Utterance normalisation: lower case, no accents, number words as digits, language guess."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

UNITS: Final = {
    # Portuguese
    "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5,
    "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13,
    "catorze": 14, "quatorze": 14, "quinze": 15, "dezesseis": 16, "dezessete": 17,
    "dezoito": 18, "dezenove": 19, "vinte": 20, "trinta": 30, "quarenta": 40,
    "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90,
    "cem": 100, "cento": 100, "duzentos": 200, "trezentos": 300, "quatrocentos": 400,
    "quinhentos": 500, "seiscentos": 600, "setecentos": 700, "oitocentos": 800,
    "novecentos": 900,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
SCALES: Final = {"mil": 1000, "thousand": 1000, "hundred": 100}
JOINERS: Final = frozenset({"e", "and"})

PT_WORDS: Final = frozenset({
    "o", "a", "no", "na", "do", "da", "de", "meu", "minha", "quanto", "qual", "recarga",
    "carregador", "carregamento", "estacao", "parar", "pare", "para", "inicia", "iniciar",
    "inicie", "comecar", "saldo", "carteira", "perto", "mim", "reservar", "reserva", "preco",
    "energia", "descarga", "descarregar", "ganhei", "semana", "hoje", "mes", "ajuda", "sim",
    "nao", "por", "favor", "cento", "colocar", "adicionar", "recarregar", "como",
    "esta", "carro", "rede", "quero", "ate", "posto", "onde", "vender", "ganhos",
})
EN_WORDS: Final = frozenset({
    "the", "my", "how", "much", "what", "start", "stop", "charging", "charge", "charger",
    "station", "wallet", "balance", "near", "me", "reserve", "book", "price", "grid", "energy",
    "discharge", "earn", "earned", "week", "today", "month", "help", "yes", "no", "please",
    "percent", "top", "up", "add", "is", "going", "car", "at", "on", "sell", "earnings",
    "where", "nearby", "can", "you", "i", "did", "deposit", "by", "with", "to", "from",
    "this", "have", "find", "session",
})

_TOKEN = re.compile(r"r\$|[a-z]+(?:-[a-z0-9]+)+|[a-z]+\d[a-z0-9]*|\d+(?:[.,]\d+)?|[a-z]+|%")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-free tokens; number words become digit strings ("vinte e cinco" ->
    "25", "one hundred and twenty" -> "120"); hyphenated numbers ("twenty-five") too."""
    raw: list[str] = []
    text = re.sub(r"\bpor\s+cento\b", " % ", strip_accents(text.lower()))
    for tok in _TOKEN.findall(text):
        parts = tok.split("-")
        if len(parts) > 1 and all(p in UNITS or p in SCALES for p in parts):
            raw.extend(parts)
        else:
            raw.append(tok)
    return _numbers(raw)


def _numbers(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] not in UNITS and words[i] not in SCALES:
            out.append(words[i])
            i += 1
            continue
        total, current, j = 0, 0, i
        while j < len(words):
            w = words[j]
            if w in UNITS:
                current += UNITS[w]
            elif w in SCALES:
                scale = SCALES[w]
                if scale == 100:
                    current = max(current, 1) * 100
                else:
                    total += max(current, 1) * scale
                    current = 0
            elif (w in JOINERS and j + 1 < len(words)
                  and (words[j + 1] in UNITS or words[j + 1] in SCALES) and j > i):
                pass
            else:
                break
            j += 1
        if words[i] in ("um", "uma", "one") and j == i + 1:
            out.append(words[i])  # "um carregador": an article more often than a number
        else:
            out.append(str(total + current))
        i = j
    return out


def language(words: list[str]) -> str:
    """'pt-BR' or 'en' by which language's common words appear more (ties: Portuguese)."""
    pt = sum(w in PT_WORDS for w in words)
    en = sum(w in EN_WORDS for w in words)
    return "en" if en > pt else "pt-BR"


def number(token: str) -> float | None:
    """A digit token as a number ("12", "7,5", "7.5"); None otherwise."""
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None
