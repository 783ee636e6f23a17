"""Voice recognizer latency: p50/p99 per utterance, side by side in one run.

    python -m bench.voice [--rounds 200] [--stations 2000]

Three paths over the same PT-BR/EN utterances, against a directory of `--stations` ids:
- `normalise`: tokens only (lower case, accents, number words): the floor.
- `rules`: the offline recognizer (keywords with rapidfuzz typo matching, slots, station
  resolution by number or fuzzily over every station id).
- `service`: VoiceService.handle with in-memory ports and a scripted REST API: recognition,
  the confirmation rule, execution and the record (no network, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.report import machine, write_json
from sigec_actors.testing.voice import MemoryVoiceLog, ScriptedRest, StaticStationNames
from sigec_actors.voice.executor import Reply
from sigec_actors.voice.rules import RuleRecognizer, recognize
from sigec_actors.voice.service import Utterance, VoiceService
from sigec_actors.voice.text import tokens

UTTERANCES = (
    "inicia a recarga no carregador doze", "start charging at station 12 connector two",
    "para a recarga", "stop my charging", "como está minha recarga", "qual é o meu saldo",
    "what is my balance", "coloca cinquenta reais na carteira", "carregadores perto de mim",
    "reserva o carregador cento e vinte", "qual o preço da energia agora",
    "vende energia do carro até quarenta por cento", "start v2g down to 35 percent",
    "quanto o V2G me rendeu esta semana", "how much did V2G earn me this week", "ajuda",
    "inicia o carregamneto no shopping ibirapuera", "whats my ballance", "bom dia",
    "reserve station one hundred twenty",
)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 4),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 4),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 4), "n": len(ordered)}


def _timed(fn: Callable[[str], Any], rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        for text in UTTERANCES:
            start = time.perf_counter()
            fn(text)
            samples.append(time.perf_counter() - start)
    return _percentiles(samples)


async def _service(stations: list[str], rounds: int) -> dict[str, float]:
    rest = ScriptedRest({("GET", "/api/v1/wallet"): Reply(200, {"balanceCentavos": 0})})
    service = VoiceService(MemoryVoiceLog(), RuleRecognizer(), StaticStationNames(stations),
                           clock=lambda: datetime.now(UTC))
    user = uuid.uuid4()
    samples = []
    for _ in range(rounds):
        for text in UTTERANCES:
            start = time.perf_counter()
            await service.handle(user, "rest", rest, Utterance(text=text))
            samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--stations", type=int, default=2000)
    args = parser.parse_args()
    stations = [f"CP-{i:04d}" for i in range(1, args.stations + 1)] + [
        "SHOPPING-IBIRAPUERA", "PAULISTA-01"]
    result = {
        "machine": machine(), "rounds": args.rounds, "stations": len(stations),
        "utterances": len(UTTERANCES),
        "normalise": _timed(tokens, args.rounds),
        "rules": _timed(lambda t: recognize(t, stations), args.rounds),
        "service": asyncio.run(_service(stations, args.rounds)),
    }
    floor = result["normalise"]["p50_ms"]
    print("| path | p50 ms | p99 ms | mean ms | p50 / normalise |")
    print("|---|---|---|---|---|")
    for path in ("normalise", "rules", "service"):
        r = result[path]
        print(f"| {path} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} "
              f"| {r['p50_ms'] / floor:.1f}x |")
    print(f"written: {write_json(result, 'voice')}")


if __name__ == "__main__":
    main()
