"""The offline recognizer: PT-BR and EN keyword rules over normalised tokens.

Typos reach the keywords through rapidfuzz (a token of 5+ letters within ~1 edit of one);
station names through rapidfuzz against the ids the caller can name. It never guesses: no
rule, two rules alike, or a required slot missing gives a question back (`clarify`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from sigec_actors.voice import phrases
from sigec_actors.voice import vocabulary as v
from sigec_actors.voice.intents import Intent, IntentName
from sigec_actors.voice.recognition import Context, Recognition
from sigec_actors.voice.slots import slots_for
from sigec_actors.voice.text import language, tokens

FUZZY_MIN_LEN = 5
FUZZY_SCORE = 80.0
_VOCAB = sorted(w for w in v.ALL if len(w) >= FUZZY_MIN_LEN - 1)


def canonical(words: list[str]) -> tuple[list[str], int]:
    """Each token, or the keyword it misspells; and how many were corrected."""
    out, fixed = [], 0
    for word in words:
        if word in v.ALL or len(word) < FUZZY_MIN_LEN or word[0].isdigit():
            out.append(word)
            continue
        best = process.extractOne(word, _VOCAB, scorer=fuzz.ratio, score_cutoff=FUZZY_SCORE)
        if best is None:
            out.append(word)
        else:
            out.append(best[0])
            fixed += 1
    return out, fixed


def _has(words: set[str], group: frozenset[str]) -> bool:
    return not words.isdisjoint(group)


def _scores(w: set[str], toks: list[str]) -> dict[IntentName, int]:  # noqa: PLR0912 -- one rule each
    """How strongly each intent's rule matches (0: not at all)."""
    s: dict[IntentName, int] = {}
    v2g, earn = _has(w, v.V2G), _has(w, v.EARN)
    money = _has(w, v.MONEY) or _has(w, v.WALLET)
    charging = _has(w, v.CHARGING)
    if v2g and earn:
        s[IntentName.V2G_EARNINGS] = 3
    elif earn and not money:
        s[IntentName.V2G_EARNINGS] = 2
    if v2g and not earn:
        stop = _has(w, v.STOP) and not _starts_with_para_for(toks)
        s[IntentName.STOP_V2G if stop else IntentName.START_V2G] = 3
    if _has(w, v.ADD) and (money or any(t[0].isdigit() for t in toks)) and not v2g:
        s[IntentName.TOP_UP] = 3 if money else 2
    if _has(w, v.WALLET) and not _has(w, v.ADD) and not earn:
        s[IntentName.WALLET_BALANCE] = 3
    elif {"quanto", "dinheiro"} <= w or {"how", "much", "money"} <= w:
        s.setdefault(IntentName.WALLET_BALANCE, 2)
    if _has(w, v.NEAR) and (_has(w, v.STATIONS) or "carregar" in w or "charge" in w):
        s[IntentName.NEARBY_STATIONS] = 3
    if _has(w, v.RESERVE):
        s[IntentName.RESERVE] = 3
    if (_has(w, v.PRICE) and (_has(w, v.GRID) or v2g)) or "pld" in w:
        s[IntentName.GRID_PRICE] = 3
    if charging and not v2g:
        if _has(w, v.STOP) and not _starts_with_para_for(toks):
            s[IntentName.STOP_CHARGING] = 3
        elif _has(w, v.STATUS) and not _has(w, v.START):
            s[IntentName.SESSION_STATUS] = 3
        elif _has(w, v.START) or _has(w, v.STATIONS):
            s[IntentName.START_CHARGING] = 3 if _has(w, v.START) else 2
    if not s and (w & {"ajuda", "help", "socorro", "comandos", "commands"}
                  or {"what", "can", "you", "do"} <= w or {"o", "que", "faz"} <= w):
        s[IntentName.HELP] = 2
    return {k: val for k, val in s.items() if val > 0}


def _starts_with_para_for(toks: list[str]) -> bool:
    """'para' as a preposition ("... para o carregador 3"), not the verb "stop"."""
    stop_words = set(toks) & v.STOP
    return stop_words == {"para"} and toks.index("para") > 0 and bool(
        set(toks) & (v.START | v.ADD | v.RESERVE))


class RuleRecognizer:
    """The default recognizer: no network, deterministic, PT-BR and EN."""

    name = "rules"

    async def recognize(self, text: str, context: Context) -> Recognition:
        return recognize(text, context.stations, context.language)


def recognize(text: str, stations: Sequence[str] = (), lang: str | None = None) -> Recognition:
    raw = tokens(text)
    words, fixed = canonical(raw)
    lang = lang or language(words)
    scores = _scores(set(words), words)
    if not scores:
        return Recognition(text, lang, None, 0.0, phrases.unknown(lang))
    top = max(scores.values())
    best = [name for name, score in scores.items() if score == top]
    if len(best) > 1:
        return Recognition(text, lang, None, 0.4, phrases.which_of(lang, best))
    name = best[0]
    slots, problem = slots_for(name, words, stations)
    intent = Intent(name, slots)
    confidence = round(max(0.5, (0.95 if top == 3 else 0.75) - 0.05 * fixed), 2)
    if problem is not None:
        return Recognition(text, lang, intent, confidence, phrases.slot_problem(lang, problem),
                           unknown_station=problem[0] == "station_unknown")
    missing = intent.missing()
    if missing:
        return Recognition(text, lang, intent, confidence, phrases.ask_for(lang, missing[0]))
    return Recognition(text, lang, intent, confidence)
