"""The ledger of the billing path: concurrent postings and balance reads share one statement.

Every Ended posts an entry on the one platform revenue account, whose running balance row each
posting locks until its commit; one DB transaction per entry makes a burst of Ended events wait
in line for that row, commit after commit. Here concurrent `post` calls are ONE statement in
autocommit (entries, postings, outbox rows; the ledger's triggers still keep every balance and
check every entry), so a burst shares one lock hold and one commit. An entry posted before
(the source key exists) and any failure of the shared statement (an overdraw, a conflict) send
the entries concerned to PgLedgerRepository.post one by one, which answers as it always does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import DB_FAILURES, STORAGE_FAILURES
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.batching import Batcher
from sigec_actors.domain.ledger import (
    AccountActivity,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    NewJournalEntry,
    PostResult,
    check_balanced,
)
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import DbPool

Post = tuple[NewJournalEntry, Sequence[OutboxMessage]]
_POST = (
    "WITH e AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
    " $5::jsonb[]) WITH ORDINALITY AS e(st, sid, cur, descr, meta, i)),"
    " ins AS (INSERT INTO journal_entries (source_type, source_id, currency, description,"
    " metadata) SELECT st, sid, cur, descr, meta FROM e ORDER BY i"
    " ON CONFLICT ON CONSTRAINT journal_entries_source_key DO NOTHING"
    " RETURNING id, source_type, source_id, created_at),"
    " w AS (SELECT e.i, ins.id, ins.created_at FROM ins JOIN e"
    " ON e.st = ins.source_type AND e.sid = ins.source_id),"
    # all postings in account order: concurrent statements lock balances in the same order
    " p AS (INSERT INTO postings (journal_entry_id, account_id, amount_centavos)"
    " SELECT w.id, l.a, l.m FROM unnest($6::int[], $7::uuid[], $8::bigint[]) AS l(i, a, m)"
    " JOIN w ON w.i = l.i ORDER BY l.a::text, w.i),"
    " ob AS (INSERT INTO event_outbox (subject, payload)"
    " SELECT o.s, o.p || jsonb_build_object('journalEntryId', w.id::text)"
    " FROM unnest($9::int[], $10::text[], $11::jsonb[]) WITH ORDINALITY AS o(i, s, p, n)"
    " JOIN w ON w.i = o.i ORDER BY o.n)"
    " SELECT i, id, created_at FROM w")
_BALANCES = (
    "SELECT k.i, coalesce((SELECT sum(p.amount_centavos) FROM postings p"
    " WHERE p.account_id = k.a), 0) AS balance"
    " FROM unnest($1::uuid[]) WITH ORDINALITY AS k(a, i) ORDER BY k.i")


class BatchedPgLedger:
    """LedgerRepository: PgLedgerRepository with `post` and `balance` batched (see module)."""

    def __init__(self, ledger: PgLedgerRepository, pool: DbPool, *, max_batch: int = 64,
                 max_inflight: int = 2) -> None:
        self._ledger = ledger
        self._pool = pool
        self._posts: Batcher[Post, PostResult] = Batcher(
            self._post_many, max_batch=max_batch, max_inflight=max_inflight,
            key=lambda item: (item[0].source_type, item[0].source_id))
        self._balances: Batcher[UUID, int] = Batcher(
            self._balance_many, max_batch=max_batch, max_inflight=max_inflight)

    async def post(self, entry: NewJournalEntry,
                   events: Sequence[OutboxMessage] = ()) -> PostResult:
        check_balanced(entry)
        return await self._posts.submit((entry, tuple(events)))

    async def balance(self, account_id: UUID) -> int:
        return await self._balances.submit(account_id)

    async def account(self, kind: AccountKind, user_id: UUID | None = None,
                      currency: str = "BRL") -> LedgerAccount:
        return await self._ledger.account(kind, user_id, currency)

    async def entry_by_source(self, source_type: str, source_id: str) -> JournalEntry | None:
        return await self._ledger.entry_by_source(source_type, source_id)

    async def history(self, account_id: UUID, limit: int = 50,
                      offset: int = 0) -> list[AccountActivity]:
        return await self._ledger.history(account_id, limit, offset)

    async def _balance_many(self, accounts: Sequence[UUID]) -> list[int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_BALANCES, list(accounts))
        return [int(r["balance"]) for r in rows]

    async def _post_many(self, posts: Sequence[Post]) -> list[PostResult | BaseException]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(_POST, *_args(posts))
        except DB_FAILURES:  # an overdraw, a conflict, a deadlock: each entry on its own
            rows = []
        done = {r["i"]: r for r in rows}
        out: list[PostResult | BaseException] = []
        for i, (entry, events) in enumerate(posts, 1):
            row = done.get(i)
            if row is None:  # posted before, or the statement failed: the ledger's own way
                out.append(await self._alone(entry, events))
            else:
                out.append(PostResult(_entry(entry, row["id"], row["created_at"]),
                                      created=True))
        return out

    async def _alone(self, entry: NewJournalEntry,
                     events: Sequence[OutboxMessage]) -> PostResult | BaseException:
        try:
            return await self._ledger.post(entry, events)
        except STORAGE_FAILURES as exc:  # its caller's error (InsufficientFunds, ...)
            return exc


def _entry(new: NewJournalEntry, entry_id: UUID, created_at: datetime) -> JournalEntry:
    return JournalEntry(entry_id, new.source_type, new.source_id, new.currency,
                        new.description, new.postings, created_at)


def _args(posts: Sequence[Post]) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(11)]
    for i, (entry, events) in enumerate(posts, 1):
        row: tuple[Any, ...] = (entry.source_type, entry.source_id, entry.currency,
                                entry.description, entry.metadata)
        for n, value in enumerate(row):
            cols[n].append(value)
        for p in entry.postings:
            cols[5].append(i)
            cols[6].append(p.account_id)
            cols[7].append(p.amount_centavos)
        for e in events:
            cols[8].append(i)
            cols[9].append(e.subject)
            cols[10].append(e.payload)
    return cols
