"""Transactional outbox: events written with the DB change, relayed to JetStream exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext

from sigec_actors.adapters.nats_bus import ensure_streams
from sigec_actors.adapters.pg import PostgresError, connection, transaction
from sigec_actors.domain.events import stream_for
from sigec_actors.ports import DbConn, DbPool

log = structlog.get_logger("outbox")

CHANNEL = "sigec_outbox"
"""PostgreSQL NOTIFY channel raised by every insert into event_outbox."""


async def add(conn: DbConn, subject: str, payload: Mapping[str, Any]) -> UUID:
    """Queue one event on `conn`, inside the caller's DB transaction; return its id."""
    if stream_for(subject) is None:
        raise ValueError(f"no JetStream stream captures subject {subject!r}")
    event_id: UUID = await conn.fetchval(
        "INSERT INTO event_outbox (subject, payload) VALUES ($1, $2) RETURNING id",
        subject, dict(payload))
    return event_id


class PgOutbox:
    """The Outbox port on PostgreSQL."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def add(self, conn: DbConn | None, subject: str, payload: Mapping[str, Any]) -> UUID:
        async with connection(conn if conn is not None else self._pool) as c:
            return await add(c, subject, payload)

    async def pending_count(self) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM event_outbox WHERE sent_at IS NULL"))

    async def prune_sent(self, older_than_s: float, limit: int = 10_000) -> int:
        """Delete at most `limit` rows sent more than `older_than_s` seconds ago (oldest first;
        rows another node is deleting are skipped); return how many."""
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "DELETE FROM event_outbox WHERE seq IN (SELECT seq FROM event_outbox"
                " WHERE sent_at < now() - make_interval(secs => $1)"
                " ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED)", older_than_s, limit)
        return int(done.split()[-1])


_PUBLISH_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
_ENCODER = msgspec.json.Encoder()


_NO_STREAM = (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError)


def _failure(fut: asyncio.Future[Any]) -> str | None:
    """Why a publish was not acknowledged (None: it was)."""
    if fut.cancelled():
        return "no ack within the publish timeout"
    exc = fut.exception()
    return None if exc is None else repr(exc)


class OutboxRelay:
    """Publishes unsent outbox rows in order, with Nats-Msg-Id = row id, then marks them sent.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so relays on several nodes share the work.
    While NATS is unreachable, the relay backs off and retries; a publish that reached the
    stream but whose ack was lost is deduplicated by the stream (duplicate window).
    """

    def __init__(self, pool: DbPool, js: JetStreamContext, *, batch_size: int = 200,
                 poll_interval_s: float = 1.0, publish_timeout_s: float = 2.0,
                 max_backoff_s: float = 5.0) -> None:
        self._pool = pool
        self._js = js
        self._batch = batch_size
        self._poll = poll_interval_s
        self._timeout = publish_timeout_s
        self._max_backoff = max_backoff_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._streams_ready = False

    def wake(self) -> None:
        """Look for new rows now (an in-process writer just committed)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the relay task (and LISTEN for inserts from any node)."""
        if self._task is not None:
            return
        await self._listen()
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the relay task; rows not yet published stay in the outbox."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._unlisten()

    async def run(self) -> None:
        """Drain forever: immediately while rows remain, on wake-ups, or every poll interval."""
        backoff = 0.0
        while True:
            try:
                sent, failed = await self.drain_once()
            except (PostgresError, OSError) as exc:
                log.warning("outbox_db_unavailable", error=str(exc))
                sent, failed = 0, True
            if failed:
                backoff = min(max(backoff * 2, 0.05), self._max_backoff)
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            if sent < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)

    async def drain_once(self) -> tuple[int, bool]:
        """Publish one batch; return (rows marked sent, whether a publish failed)."""
        if not self._streams_ready:
            try:
                await ensure_streams(self._js)
            except _PUBLISH_ERRORS as exc:
                log.warning("outbox_streams_unavailable", error=repr(exc))
                return 0, True
            self._streams_ready = True
        async with transaction(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT id, subject, payload FROM event_outbox WHERE sent_at IS NULL"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED", self._batch)
            if not rows:
                return 0, False
            sent, failed = await self._publish(rows)
            if sent:
                await conn.execute(
                    "UPDATE event_outbox SET sent_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY($1::uuid[])", sent)
            if failed is not None:
                await conn.execute(
                    "UPDATE event_outbox SET attempts = attempts + 1, last_error = $2"
                    " WHERE id = $1", failed[0], failed[1][:500])
        return len(sent), failed is not None

    async def _publish(self, rows: list[Any]) -> tuple[list[UUID], tuple[UUID, str] | None]:
        """Publish the rows pipelined: all written in order, then every ack awaited at once.

        Returns the acknowledged ids and the first row that was not (with why). Rows the
        stream acknowledged are sent even if an earlier one failed; that one is retried on
        the next pass, so a failure in mid-batch may reorder it after later rows (consumers
        are idempotent and dedupe on Nats-Msg-Id; the stream dedupes a re-publish).
        """
        acks: list[asyncio.Future[Any]] = []
        error: str | None = None
        try:
            for row in rows:
                acks.append(await self._js.publish_async(
                    row["subject"], _ENCODER.encode(row["payload"]),
                    wait_stall=self._timeout, headers={"Nats-Msg-Id": str(row["id"])}))
        except _PUBLISH_ERRORS as exc:
            error = repr(exc)
            self._streams_ready = not isinstance(exc, _NO_STREAM)
        if acks:
            _, late = await asyncio.wait(acks, timeout=self._timeout)
            for fut in late:
                fut.cancel()
        sent: list[UUID] = []
        failed: tuple[UUID, str] | None = None
        for row, fut in zip(rows, acks, strict=False):
            why = _failure(fut)
            if why is None:
                sent.append(row["id"])
            elif failed is None:
                failed = (row["id"], why)
                if not fut.cancelled() and isinstance(fut.exception(), _NO_STREAM):
                    self._streams_ready = False  # the server lost its streams: recreate them
        if failed is None and len(acks) < len(rows):
            failed = (rows[len(acks)]["id"], error or "not published")
        if failed is not None:
            log.info("outbox_publish_failed", published=len(sent), of=len(rows),
                     error=failed[1])
        return sent, failed

    async def _listen(self) -> None:
        try:
            cm = self._pool.acquire()
            conn = await cm.__aenter__()
            await conn.add_listener(CHANNEL, self._on_notify)
        except (PostgresError, OSError) as exc:
            log.warning("outbox_listen_failed", error=str(exc))  # polling still works
            return
        self._listener = (cm, conn)

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        cm, conn = listener
        with contextlib.suppress(PostgresError, OSError):
            await conn.remove_listener(CHANNEL, self._on_notify)
        await cm.__aexit__(None, None, None)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()
