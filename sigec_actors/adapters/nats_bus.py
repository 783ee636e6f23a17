"""NATS adapters: JetStream streams for the event subjects, and the EventBus on NATS core."""

from __future__ import annotations

from collections.abc import Mapping

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from sigec_actors.domain.errors import BusTimeout, NoResponders
from sigec_actors.domain.events import STREAMS
from sigec_actors.ports import BusHandler, BusMessage, Subscription

DUPLICATE_WINDOW_S = 20 * 60.0
"""JetStream dedupe window: a re-publish of one outbox id within it is dropped by the server."""

MAX_AGE_S = 7 * 24 * 3600.0


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
