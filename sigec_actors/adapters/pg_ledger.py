"""PostgreSQL double-entry wallet ledger: idempotent balanced entries, no overdraw."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sigec_actors.adapters.pg import (
    CheckViolation,
    ForeignKeyViolation,
    IntegrityViolation,
    constraint_name,
    to_record,
    transaction,
    write_events,
)
from sigec_actors.domain.errors import (
    InsufficientFunds,
    JournalEntryConflict,
    UnbalancedEntry,
    UnknownAccount,
)
from sigec_actors.domain.ledger import (
    NON_NEGATIVE_KINDS,
    USER_KINDS,
    AccountActivity,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    NewJournalEntry,
    PostingIn,
    PostResult,
    check_balanced,
    same_postings,
)
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import DbConn, DbPool


class PgLedgerRepository:
    """LedgerRepository on PostgreSQL; the database enforces balance and no-overdraw too."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def account(self, kind: AccountKind, user_id: UUID | None = None,
                      currency: str = "BRL") -> LedgerAccount:
        if (kind in USER_KINDS) != (user_id is not None):
            raise ValueError(f"account kind {kind} {'needs' if kind in USER_KINDS else 'takes no'}"
                             " user id")
        async with self._pool.acquire() as conn:
            # The partial unique indexes make this get-or-create safe under concurrency.
            await conn.execute(
                "INSERT INTO ledger_accounts (kind, user_id, currency, allow_negative)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                kind.value, user_id, currency, kind not in NON_NEGATIVE_KINDS)
            row = await conn.fetchrow(
                "SELECT * FROM ledger_accounts WHERE kind = $1 AND currency = $3"
                " AND user_id IS NOT DISTINCT FROM $2", kind.value, user_id, currency)
        return to_record(row, LedgerAccount)

    async def post(self, entry: NewJournalEntry,
                   events: Sequence[OutboxMessage] = ()) -> PostResult:
        check_balanced(entry)
        try:
            async with transaction(self._pool) as conn:
                return await _post(conn, entry, events)
        except CheckViolation as exc:
            if constraint_name(exc) == "ledger_accounts_no_overdraw":
                raise InsufficientFunds(entry.source_type, entry.source_id) from exc
            raise
        except ForeignKeyViolation as exc:
            raise UnknownAccount(tuple(p.account_id for p in entry.postings)) from exc
        except IntegrityViolation as exc:
            if constraint_name(exc) == "journal_entry_balanced":
                raise UnbalancedEntry(entry.source_type, entry.source_id, 0) from exc
            raise

    async def balance(self, account_id: UUID) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT coalesce(sum(amount_centavos), 0) FROM postings WHERE account_id = $1",
                account_id))

    async def entry_by_source(self, source_type: str, source_id: str) -> JournalEntry | None:
        async with self._pool.acquire() as conn:
            return await _load_entry(conn, source_type, source_id)

    async def history(self, account_id: UUID, limit: int = 50,
                      offset: int = 0) -> list[AccountActivity]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT j.id AS entry_id, j.source_type, j.source_id, j.description,"
                " p.amount_centavos, j.created_at FROM postings p"
                " JOIN journal_entries j ON j.id = p.journal_entry_id"
                " WHERE p.account_id = $1 ORDER BY p.id DESC LIMIT $2 OFFSET $3",
                account_id, limit, offset)
        return [to_record(r, AccountActivity) for r in rows]


def with_entry(event: OutboxMessage, entry_id: UUID) -> OutboxMessage:
    """An event written with a posting names its journal entry (`journalEntryId`)."""
    return OutboxMessage(event.subject, {**event.payload, "journalEntryId": str(entry_id)})


async def post_on(conn: DbConn, entry: NewJournalEntry,
                  events: Sequence[OutboxMessage] = ()) -> PostResult:
    """`PgLedgerRepository.post` inside the caller's DB transaction `conn` (so a posting
    commits or rolls back with the caller's other writes); raises what the database does."""
    check_balanced(entry)
    return await _post(conn, entry, events)


async def _post(conn: DbConn, entry: NewJournalEntry,
                events: Sequence[OutboxMessage]) -> PostResult:
    row = await conn.fetchrow(
        "INSERT INTO journal_entries (source_type, source_id, currency, description, metadata)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT ON CONSTRAINT journal_entries_source_key"
        " DO NOTHING RETURNING id, created_at",
        entry.source_type, entry.source_id, entry.currency, entry.description, entry.metadata)
    if row is None:  # posted before (maybe concurrently; we waited for that commit)
        existing = await _load_entry(conn, entry.source_type, entry.source_id)
        assert existing is not None
        if not same_postings(existing.postings, entry.postings):
            raise JournalEntryConflict(entry.source_type, entry.source_id)
        return PostResult(existing, created=False)
    # Account order is fixed so concurrent entries lock balances in the same order.
    legs = sorted(entry.postings, key=lambda p: str(p.account_id))
    await conn.execute(
        "INSERT INTO postings (journal_entry_id, account_id, amount_centavos)"
        " SELECT $1, a, m FROM unnest($2::uuid[], $3::bigint[]) WITH ORDINALITY AS t(a, m, o)"
        " ORDER BY o", row["id"], [p.account_id for p in legs],
        [p.amount_centavos for p in legs])
    await write_events(conn, [with_entry(e, row["id"]) for e in events])
    return PostResult(JournalEntry(row["id"], entry.source_type, entry.source_id, entry.currency,
                                   entry.description, entry.postings, row["created_at"]),
                      created=True)


async def _load_entry(conn: DbConn, source_type: str, source_id: str) -> JournalEntry | None:
    row = await conn.fetchrow(
        "SELECT * FROM journal_entries WHERE source_type = $1 AND source_id = $2",
        source_type, source_id)
    if row is None:
        return None
    legs = await conn.fetch(
        "SELECT account_id, amount_centavos FROM postings WHERE journal_entry_id = $1"
        " ORDER BY id", row["id"])
    return to_record(row, JournalEntry,
                     postings=tuple(PostingIn(r["account_id"], r["amount_centavos"])
                                    for r in legs))
