"""Builds the node's voice service from `[voice]` and hands it to the REST layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from sigec_actors.adapters.pg_voice import PgStationNames, PgVoiceLog
from sigec_actors.config import VoiceConfig
from sigec_actors.ports import DbPool
from sigec_actors.voice.executor import Reply
from sigec_actors.voice.gemini import GeminiRecognizer, genai_connect
from sigec_actors.voice.recognition import Recognizer, SpeechToText
from sigec_actors.voice.records import VoiceLog
from sigec_actors.voice.rules import RuleRecognizer
from sigec_actors.voice.service import StationNames, VoiceService

EXTRAS_KEY = "voice"


class MisconfiguredVoice(ValueError):
    """`voice.recognizer = "gemini"` without an API key."""


def recognizer_from(config: VoiceConfig) -> tuple[Recognizer, SpeechToText | None]:
    if config.recognizer == "rules":
        return RuleRecognizer(), None
    if not config.gemini_api_key:
        raise MisconfiguredVoice("voice.recognizer is gemini: set voice.gemini_api_key "
                                 "(SIGEC_VOICE__GEMINI_API_KEY)")
    gemini = GeminiRecognizer(genai_connect(config.gemini_api_key, config.gemini_model),
                              timeout_s=config.gemini_timeout_s)
    return gemini, gemini


class LoopbackRest:
    """The node's own REST API over loopback, as the caller (their Authorization header)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, authorization: str) -> None:
        self._session = session
        self._base = base_url
        self._auth = authorization

    async def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                   query: dict[str, str] | None = None,
                   idempotency_key: str | None = None) -> Reply:
        headers = {"Authorization": self._auth}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        async with self._session.request(method, self._base + path, json=body, params=query,
                                         headers=headers, ssl=False) as response:
            data = await response.json(content_type=None) if response.content_length != 0 \
                else None
            return Reply(response.status, data)


class VoiceWiring:
    """The service and the loopback client; `log`/`names` default to PostgreSQL's."""

    def __init__(self, pool: DbPool | None, config: VoiceConfig, *,
                 log: VoiceLog | None = None, names: StationNames | None = None) -> None:
        self.config = config
        recognizer, stt = recognizer_from(config)
        if log is None or names is None:
            assert pool is not None, "a pool, or both ports"
            log, names = log or PgVoiceLog(pool), names or PgStationNames(pool)
        self.service = VoiceService(log, recognizer, names, stt=stt,
                                    clock=lambda: datetime.now(UTC),
                                    confirm_ttl_s=config.confirm_ttl_s)
        self._http: aiohttp.ClientSession | None = None

    def rest(self, base_url: str, authorization: str) -> LoopbackRest:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return LoopbackRest(self._http, base_url, authorization)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
