"""Transactional outbox: events written with the DB change, relayed to JetStream exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import asyncpg.exceptions
import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext

from sigec_actors.adapters.nats_bus import ensure_streams
from sigec_actors.adapters.outbox_park import oversize, parked_alert, refused_for_good
from sigec_actors.adapters.pg import DB_FAILURES, connection, transaction
from sigec_actors.alerts.ports import Alerts
from sigec_actors.domain.events import stream_for
from sigec_actors.ports import DbConn, DbPool

log = structlog.get_logger("outbox")
# A terminated LISTEN connection can also be left mid-operation (asyncpg's
# InternalClientError "another operation is in progress"): still a lost connection, not a bug.
_LISTEN_FAILURES: tuple[type[BaseException], ...] = (
    *DB_FAILURES, asyncpg.exceptions.InternalClientError)

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


class OutboxBacklog(msgspec.Struct, frozen=True):
    unsent: int
    oldest_age_s: float | None  # None when nothing waits
    parked: int


_BACKLOG = (
    "SELECT count(*) FILTER (WHERE parked_at IS NULL) AS unsent,"
    " extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL))"
    "::float8 AS oldest_age_s,"
    " count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked"
    " FROM event_outbox WHERE sent_at IS NULL")


class PgOutbox:
    """The Outbox port on PostgreSQL."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def add(self, conn: DbConn | None, subject: str, payload: Mapping[str, Any]) -> UUID:
        async with connection(conn if conn is not None else self._pool) as c:
            return await add(c, subject, payload)

    async def pending_count(self) -> int:
        """Rows waiting to be published (parked rows are not waiting)."""
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM event_outbox WHERE sent_at IS NULL AND parked_at IS NULL"))

    async def backlog(self) -> OutboxBacklog:
        """Unsent rows, the age of the oldest, and parked rows (for readiness and metrics)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_BACKLOG)
        age = row["oldest_age_s"]
        return OutboxBacklog(int(row["unsent"]), None if age is None else float(age),
                             int(row["parked"]))

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
_NO_STREAM = (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError)
_ENCODER = msgspec.json.Encoder()
_CLAIM = ("SELECT id, subject, payload FROM event_outbox"
          " WHERE sent_at IS NULL AND parked_at IS NULL"
          " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED")

Parked = tuple[Any, str]
"""A claimed row the bus can never take, and why."""


class _Outcome:
    """What one pipelined batch did: acknowledged ids, parked rows, the first transient
    failure (id, why)."""

    __slots__ = ("failed", "parked", "sent")

    def __init__(self) -> None:
        self.sent: list[UUID] = []
        self.parked: list[Parked] = []
        self.failed: tuple[UUID, str] | None = None


class OutboxRelay:
    """Publishes unsent outbox rows in order, with Nats-Msg-Id = row id, then marks them sent.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so relays on several nodes share the work.
    A transient failure (NATS unreachable, no ack in time) leaves the row for the next pass;
    a publish that reached the stream but whose ack was lost is deduplicated by the stream.
    A row the bus can never take (over the server's max_payload, or refused with a 400) is
    parked with an operator alert, and the rows after it flow. The loop that calls
    `drain_once` is the supervised OutboxRelayActor (sigec_actors.outbox_actor).
    """

    def __init__(self, pool: DbPool, js: JetStreamContext, *,
                 max_payload: Callable[[], int] | None = None, alerts: Alerts | None = None,
                 batch_size: int = 200, publish_timeout_s: float = 2.0) -> None:
        self._pool = pool
        self._js = js
        self._max_payload = max_payload or (lambda: int(js._nc.max_payload))
        self._alerts = alerts
        self.batch_size = batch_size
        self._timeout = publish_timeout_s
        self._listener: Any = None
        self._streams_ready = False

    async def drain_once(self) -> tuple[int, bool]:
        """Publish one batch; return (rows sent or parked, whether a publish failed).

        Storage failures (DB_FAILURES) propagate: the caller backs off and retries."""
        if not await self._ensure_streams():
            return 0, True
        async with transaction(self._pool) as conn:
            rows = await conn.fetch(_CLAIM, self.batch_size)
            if not rows:
                return 0, False
            out = await self._publish(rows)
            await self._park(conn, out.parked)
            if out.sent:
                await conn.execute(
                    "UPDATE event_outbox SET sent_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY($1::uuid[])", out.sent)
            if out.failed is not None:
                await conn.execute(
                    "UPDATE event_outbox SET attempts = attempts + 1, last_error = $2"
                    " WHERE id = $1", out.failed[0], out.failed[1][:500])
        return len(out.sent) + len(out.parked), out.failed is not None

    async def _ensure_streams(self) -> bool:
        if not self._streams_ready:
            try:
                await ensure_streams(self._js)
            except _PUBLISH_ERRORS as exc:
                log.warning("outbox_streams_unavailable", error=repr(exc))
                return False
            self._streams_ready = True
        return True

    async def _publish(self, rows: list[Any]) -> _Outcome:
        """Publish the rows pipelined: all written in order, then every ack awaited at once.

        Rows the stream acknowledged are sent even if an earlier one failed; that one is
        retried on the next pass, so a failure in mid-batch may reorder it after later rows
        (consumers are idempotent and dedupe on Nats-Msg-Id; the stream dedupes a re-publish).
        """
        out, limit = _Outcome(), self._max_payload()
        acks: list[tuple[Any, bytes, asyncio.Future[Any]]] = []
        done = 0
        try:
            for row in rows:
                data = _ENCODER.encode(row["payload"])
                why = oversize(len(data), limit)
                if why is not None:
                    out.parked.append((row, why))
                else:
                    acks.append((row, data, await self._js.publish_async(
                        row["subject"], data, wait_stall=self._timeout,
                        headers={"Nats-Msg-Id": str(row["id"])})))
                done += 1
        except _PUBLISH_ERRORS as exc:
            out.failed = (rows[done]["id"], repr(exc))
            self._streams_ready = not isinstance(exc, _NO_STREAM)
        await self._settle(acks, out)
        if out.failed is not None:
            log.info("outbox_publish_failed", published=len(out.sent), of=len(rows),
                     error=out.failed[1])
        return out

    async def _settle(self, acks: list[tuple[Any, bytes, asyncio.Future[Any]]],
                      out: _Outcome) -> None:
        """Await the acks; sort each row into sent, parked (refused for good) or failed."""
        if acks:
            _, late = await asyncio.wait([fut for _, _, fut in acks], timeout=self._timeout)
            for fut in late:
                fut.cancel()
        first_failure: tuple[UUID, str] | None = None
        for row, data, fut in acks:
            if not fut.cancelled():
                error = fut.exception()
            elif first_failure is None:
                error = await self._confirm(row, data)  # the ack may have been an API error
            else:  # unacknowledged behind a failure: not sent (it was marked sent, and lost)
                error = TimeoutError("no acknowledgement")
            if error is None:
                out.sent.append(row["id"])
            elif refused_for_good(error):
                out.parked.append((row, f"refused by the server: {error!r}"))
            elif first_failure is None:
                first_failure = (row["id"], repr(error))
                if isinstance(error, _NO_STREAM):
                    self._streams_ready = False  # the server lost its streams: recreate them
        if first_failure is not None:
            out.failed = first_failure

    async def _confirm(self, row: Any, data: bytes) -> BaseException | None:
        """Publish one unacknowledged row again, synchronously (the stream dedupes it).

        nats-py 2.16 drops an async ack that carries a JetStream API error (from_error raises
        inside its reply handler), so a refusal looks like a timeout; the synchronous publish
        raises it, which is how a row refused for good (400) is told from an outage."""
        try:
            await self._js.publish(row["subject"], data, timeout=self._timeout,
                                   headers={"Nats-Msg-Id": str(row["id"])})
        except _PUBLISH_ERRORS as exc:
            return exc
        return None

    async def _park(self, conn: DbConn, parked: list[Parked]) -> None:
        """Open the alert first (deduplicated), then park: a crash in between parks on retry."""
        for row, why in parked:
            log.warning("outbox_event_parked", event_id=str(row["id"]), subject=row["subject"],
                        reason=why)
            if self._alerts is not None:
                await self._alerts.open(parked_alert(row["subject"], row["id"], why))
            await conn.execute(
                "UPDATE event_outbox SET parked_at = now(), park_reason = $2,"
                " attempts = attempts + 1 WHERE id = $1", row["id"], why[:500])

    async def listen(self, on_notify: Callable[[], None],
                     on_lost: Callable[[], None]) -> None:
        """LISTEN for inserts from any node on a connection of its own; `on_lost` is called
        if that connection dies (polling still finds rows meanwhile). The connection goes back
        to the pool whatever happens here: one kept by a failed LISTEN held Pool.close()."""
        try:
            cm = self._pool.acquire()
            conn = await cm.__aenter__()
        except _LISTEN_FAILURES as exc:
            log.warning("outbox_listen_failed", error=repr(exc))  # polling still works
            return
        self._listener = (cm, conn, lambda *_: on_notify(), lambda *_: on_lost())
        try:
            await conn.add_listener(CHANNEL, self._listener[2])
            conn.add_termination_listener(self._listener[3])
        except _LISTEN_FAILURES as exc:
            log.warning("outbox_listen_failed", error=repr(exc))
            await self.unlisten()
        except BaseException:
            await self.unlisten()
            raise

    async def unlisten(self) -> None:
        """Give the LISTEN connection back to the pool (also after it was terminated: asyncpg
        may have detached it already, and each step then refuses with InterfaceError)."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        cm, conn, notified, lost = listener
        try:
            with contextlib.suppress(*_LISTEN_FAILURES):
                conn.remove_termination_listener(lost)  # the pool may close it: not our loss
            with contextlib.suppress(*_LISTEN_FAILURES):
                await conn.remove_listener(CHANNEL, notified)
        finally:
            with contextlib.suppress(*_LISTEN_FAILURES):
                await cm.__aexit__(None, None, None)
