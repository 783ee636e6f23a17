"""NATS adapters: the authenticated connection, JetStream streams, the EventBus on NATS core."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from sigec_actors.domain.errors import BusTimeout, NoResponders
from sigec_actors.domain.events import STREAMS
from sigec_actors.errors import ConfigError
from sigec_actors.ports import BusHandler, BusMessage, Subscription

DUPLICATE_WINDOW_S = 20 * 60.0
"""JetStream dedupe window: a re-publish of one outbox id within it is dropped by the server."""

MAX_AGE_S = 7 * 24 * 3600.0


def url_has_credentials(url: str) -> bool:
    """True when the URL carries a user/password (`nats://u:p@h`) or a token (`nats://t@h`)."""
    return bool(urlsplit(url).username)


def credential_options(creds_file: str = "", nkey_seed_file: str = "") -> dict[str, Any]:
    """nats-py connect options for a `.creds` file (JWT + seed) or an nkey seed file.

    Raises ConfigError naming the key when a file is unreadable or both are set.
    """
    if creds_file and nkey_seed_file:
        raise ConfigError("nats.creds_file", "set nats.creds_file or nats.nkey_seed_file, not both")
    for key, path in (("nats.creds_file", creds_file), ("nats.nkey_seed_file", nkey_seed_file)):
        if path and not os.access(path, os.R_OK):
            raise ConfigError(key, f"cannot read {path}")
    if creds_file:
        return {"user_credentials": creds_file}
    if nkey_seed_file:
        return {"nkeys_seed": nkey_seed_file}
    return {}


async def connect(url: str, *, creds_file: str = "", nkey_seed_file: str = "",
                  **options: Any) -> Client:
    """Connect to NATS with the URL's user/password or token, or a creds / nkey seed file.

    `options` are nats-py's own (name, callbacks, reconnect policy ...).
    """
    nc: Client = await nats.connect(url, **credential_options(creds_file, nkey_seed_file),
                                    **options)
    return nc


async def ensure_streams(js: JetStreamContext, *, duplicate_window_s: float = DUPLICATE_WINDOW_S,
                         max_age_s: float = MAX_AGE_S) -> list[str]:
    """Create (or bring up to date) one stream per subject group; idempotent. Return names.

    Requests use the JetStream context's own timeout (`nc.jetstream(timeout=...)`).
    """
    for name, subject in STREAMS.items():
        config = StreamConfig(
            name=name, subjects=[subject], storage=StorageType.FILE,
            duplicate_window=duplicate_window_s, max_age=max_age_s,
        )
        try:
            info = await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            continue
        current = info.config
        if (current.subjects != [subject] or current.duplicate_window != duplicate_window_s
                or current.max_age != max_age_s):
            await js.update_stream(config)
    return list(STREAMS)


class _NatsSubscription:
    def __init__(self, sub: NatsSubscription) -> None:
        self._sub = sub

    async def unsubscribe(self) -> None:
        await self._sub.unsubscribe()


class NatsEventBus:
    """EventBus on NATS core (no persistence): cross-node commands, request/reply."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    async def publish(self, subject: str, data: bytes,
                      headers: Mapping[str, str] | None = None) -> None:
        await self._nc.publish(subject, data, headers=dict(headers) if headers else None)

    async def subscribe(self, subject: str, handler: BusHandler,
                        queue: str | None = None) -> Subscription:
        async def on_message(msg: Msg) -> None:
            reply = await handler(BusMessage(msg.subject, msg.data, msg.reply or None,
                                             dict(msg.headers) if msg.headers else None))
            if reply is not None and msg.reply:
                await msg.respond(reply)

        sub = await self._nc.subscribe(subject, queue=queue or "", cb=on_message)
        return _NatsSubscription(sub)

    async def request(self, subject: str, data: bytes, timeout_s: float) -> bytes:
        try:
            msg = await self._nc.request(subject, data, timeout=timeout_s)
        except nats.errors.NoRespondersError as exc:
            raise NoResponders(subject) from exc
        except nats.errors.TimeoutError as exc:
            raise BusTimeout(subject, timeout_s) from exc
        return msg.data
