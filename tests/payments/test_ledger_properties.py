"""M1/M2 on PostgreSQL: random money movements, replays and crashes keep the ledger exact."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any, ClassVar
from uuid import UUID

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from sigec_actors.adapters.pg import DB_FAILURES, create_pool
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.domain.errors import InsufficientFunds, JournalEntryConflict
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.ports import LedgerRepository
from tests.transactions.conftest import new_user

pytestmark = pytest.mark.pg
AMOUNTS = st.integers(1, 50_000)
PLATFORM = (AccountKind.PSP_CLEARING, AccountKind.PLATFORM_REVENUE, AccountKind.V2G_PAYABLE,
            AccountKind.REFUNDS)
CHECKS = (  # each must count 0 after every step
    "SELECT count(*) FROM ledger_balance_drift",
    "SELECT count(*) FROM ledger_accounts WHERE kind = 'user_wallet' AND balance_centavos < 0",
    "SELECT count(*) FROM (SELECT 1 FROM postings GROUP BY journal_entry_id"
    " HAVING sum(amount_centavos) <> 0 OR count(*) < 2) t",
    "SELECT count(*) FROM journal_entries j WHERE NOT EXISTS"
    " (SELECT 1 FROM postings p WHERE p.journal_entry_id = j.id)",
    "SELECT count(*) FROM (SELECT 1 FROM journal_entries GROUP BY source_type, source_id"
    " HAVING count(*) > 1) t",
)
WAITING = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
           " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")


def _key(kind: str) -> tuple[str, str]:
    return kind, uuid.uuid4().hex


class LedgerMachine(RuleBasedStateMachine):
    """A model of every balance beside the real ledger; crashes must leave no trace."""

    dsn: ClassVar[str] = ""
    entries = Bundle("entries")  # (source_type, source_id) posted by this run
    charges = Bundle("charges")  # (source key, wallet, amount) of posted charging debits

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.pool = self.run(create_pool(self.dsn, min_size=1, max_size=6))
        self.plain = PgLedgerRepository(self.pool)
        self.batched = BatchedPgLedger(self.plain, self.pool)
        self.expected: dict[UUID, int] = {}
        self.posted: dict[tuple[str, str], NewJournalEntry] = {}
        self.crashed: list[NewJournalEntry] = []
        self.refunded: Counter[tuple[str, str]] = Counter()
        self.wallets: list[UUID] = []
        self.platform: dict[AccountKind, UUID] = {}
        self.entries_before = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def ledger(self, batched: bool) -> LedgerRepository:
        return self.batched if batched else self.plain

    @initialize(users=st.integers(1, 3))
    def accounts(self, users: int) -> None:
        for kind in PLATFORM:
            account = self.run(self.plain.account(kind)).id
            self.platform[kind] = account
            self.expected[account] = self.run(self.plain.balance(account))
        for _ in range(users):
            user = self.run(new_user(self.pool))
            wallet = self.run(self.plain.account(AccountKind.USER_WALLET, user)).id
            self.wallets.append(wallet)
            self.expected[wallet] = 0
        self.entries_before = self.count("SELECT count(*) FROM journal_entries")

    def count(self, sql: str) -> int:
        async def one() -> int:
            async with self.pool.acquire() as conn:
                return int(await conn.fetchval(sql))
        return int(self.run(one()))

    def entry(self, key: tuple[str, str], *legs: tuple[UUID, int]) -> NewJournalEntry:
        return NewJournalEntry(key[0], key[1], tuple(PostingIn(a, m) for a, m in legs))

    def post(self, entry: NewJournalEntry, batched: bool) -> bool:
        """Post through the chosen ledger; the model follows, or expects InsufficientFunds."""
        short = any(self.expected[p.account_id] + p.amount_centavos < 0
                    for p in entry.postings if p.account_id in self.wallets)
        try:
            result = self.run(self.ledger(batched).post(entry))
        except InsufficientFunds:
            assert short, f"refused although the wallet covers it: {entry}"
            return False
        assert not short and result.created, entry
        self.applied(entry)
        return True

    def applied(self, entry: NewJournalEntry) -> None:
        self.posted[(entry.source_type, entry.source_id)] = entry
        for p in entry.postings:
            self.expected[p.account_id] += p.amount_centavos

    # ---- money movements ------------------------------------------------------------------

    @precondition(lambda self: self.wallets)
    @rule(target=entries, w=st.integers(0, 2), amount=AMOUNTS, batched=st.booleans())
    def top_up(self, w: int, amount: int, batched: bool) -> Any:
        """A PSP payment credits the wallet (psp_clearing -> wallet)."""
        key, wallet = _key("stripe_event"), self.wallets[w % len(self.wallets)]
        self.post(self.entry(key, (wallet, amount),
                             (self.platform[AccountKind.PSP_CLEARING], -amount)), batched)
        return key

    @precondition(lambda self: self.wallets)
    @rule(target=charges, w=st.integers(0, 2), amount=AMOUNTS, batched=st.booleans())
    def charge(self, w: int, amount: int, batched: bool) -> Any:
        """A charging session debits the wallet (wallet -> revenue), never below zero."""
        key, wallet = _key("charging_session"), self.wallets[w % len(self.wallets)]
        revenue = self.platform[AccountKind.PLATFORM_REVENUE]
        if self.post(self.entry(key, (wallet, -amount), (revenue, amount)), batched):
            return multiple((key, wallet, amount))
        return multiple()

    @precondition(lambda self: self.wallets)
    @rule(target=entries, w=st.integers(0, 2), amount=AMOUNTS, batched=st.booleans())
    def v2g_payout(self, w: int, amount: int, batched: bool) -> Any:
        """Energy sold back to the grid is paid into the wallet (v2g_payable -> wallet)."""
        key, wallet = _key("v2g_compensation"), self.wallets[w % len(self.wallets)]
        self.post(self.entry(key, (wallet, amount),
                             (self.platform[AccountKind.V2G_PAYABLE], -amount)), batched)
        return key

    @rule(target=entries, topup=entries, part=st.floats(0.01, 1.0), batched=st.booleans())
    def refund_top_up(self, topup: tuple[str, str], part: float, batched: bool) -> Any:
        """Part of a top-up goes back to the card (wallet -> refunds); refused if spent."""
        original = self.posted[topup]
        if original.source_type != "stripe_event":
            return multiple()
        wallet, paid = original.postings[0].account_id, original.postings[0].amount_centavos
        amount = max(1, int(paid * part))
        self.refunded[topup] += 1
        key = ("refund", f"{topup[1]}/{self.refunded[topup]}")
        refunds = self.platform[AccountKind.REFUNDS]
        posted = self.post(self.entry(key, (wallet, -amount), (refunds, amount)), batched)
        return key if posted else multiple()

    @rule(target=entries, charge=charges, batched=st.booleans())
    def reverse_charge(self, charge: tuple[tuple[str, str], UUID, int], batched: bool) -> Any:
        """A charge is reversed by a new entry with the opposite postings (once)."""
        (_, sid), wallet, amount = charge
        key = ("reversal", sid)
        entry = self.entry(key, (wallet, amount),
                           (self.platform[AccountKind.PLATFORM_REVENUE], -amount))
        if key in self.posted:  # reversing twice is a replay of the first reversal
            assert not self.run(self.ledger(batched).post(entry)).created
            return multiple()
        self.post(entry, batched)
        return key

    # ---- replays ----------------------------------------------------------------------------

    @rule(key=entries, batched=st.booleans())
    def replay(self, key: tuple[str, str], batched: bool) -> None:
        """The same source key again (a redelivered webhook, a retried Ended): no new posting."""
        first = self.run(self.plain.entry_by_source(*key))
        again = self.run(self.ledger(batched).post(self.posted[key]))
        assert not again.created and again.entry.id == first.id

    @rule(key=entries, batched=st.booleans())
    def replay_with_other_amounts(self, key: tuple[str, str], batched: bool) -> None:
        """The same source key with other postings is a conflict and changes nothing."""
        changed = self.entry(key, *((p.account_id, 2 * p.amount_centavos)
                                    for p in self.posted[key].postings))
        with pytest.raises(JournalEntryConflict):
            self.run(self.ledger(batched).post(changed))

    # ---- crashes between steps --------------------------------------------------------------

    @precondition(lambda self: self.wallets)
    @rule(w=st.integers(0, 2), amount=AMOUNTS, batched=st.booleans(), debit=st.booleans())
    def killed_mid_posting(self, w: int, amount: int, batched: bool, debit: bool) -> None:
        """pg_terminate_backend on the connection of a posting that waits on the wallet's row
        lock (its entry row, maybe a first posting, written): all of it or none survives."""
        wallet = self.wallets[w % len(self.wallets)]
        sign = -1 if debit and self.expected[wallet] >= amount else 1
        entry = self.entry(_key("stripe_event"), (wallet, sign * amount),
                           (self.platform[AccountKind.PSP_CLEARING], -sign * amount))
        outcome = self.run(_kill_while_posting(self.pool, self.ledger(batched), entry, wallet))
        if isinstance(outcome, BaseException):  # the plain ledger: the caller saw the crash
            assert isinstance(outcome, DB_FAILURES), outcome
            assert self.run(self.plain.entry_by_source(entry.source_type, entry.source_id)) \
                is None
            self.crashed.append(entry)
        else:  # the batched ledger retried the entry alone after its statement failed
            assert batched and outcome.created
            self.applied(entry)

    @precondition(lambda self: self.wallets)
    @rule(w=st.integers(0, 2), amount=AMOUNTS, statements=st.integers(1, 2))
    def rolled_back_after_first_statements(self, w: int, amount: int, statements: int) -> None:
        """A transaction that wrote the entry (and one leg) and never committed."""
        wallet = self.wallets[w % len(self.wallets)]
        entry = self.entry(_key("stripe_event"), (wallet, amount),
                           (self.platform[AccountKind.PSP_CLEARING], -amount))
        self.run(_partial_then_rollback(self.pool, entry, statements))
        self.crashed.append(entry)

    @precondition(lambda self: self.crashed)
    @rule(batched=st.booleans())
    def redeliver_a_crashed_entry(self, batched: bool) -> None:
        """The provider retries what crashed: it posts now, once (or, a debit the wallet no
        longer covers, is refused)."""
        self.post(self.crashed.pop(), batched)

    # ---- concurrency ------------------------------------------------------------------------

    @precondition(lambda self: self.wallets)
    @rule(w=st.integers(0, 2), debits=st.lists(AMOUNTS, min_size=2, max_size=8),
          batched=st.lists(st.booleans(), min_size=8, max_size=8))
    def concurrent_debits(self, w: int, debits: list[int], batched: list[bool]) -> None:
        """Debits at once on one wallet: the successes fit the balance; a refused one would
        not have fitted even at the end."""
        wallet = self.wallets[w % len(self.wallets)]
        revenue = self.platform[AccountKind.PLATFORM_REVENUE]
        entries = [self.entry(_key("charging_session"), (wallet, -a), (revenue, a))
                   for a in debits]
        async def burst() -> list[Any]:
            return await asyncio.gather(*(self.ledger(b).post(e) for e, b in
                                          zip(entries, batched, strict=False)),
                                        return_exceptions=True)
        results = self.run(burst())
        for entry, result in zip(entries, results, strict=True):
            if not isinstance(result, InsufficientFunds):
                assert not isinstance(result, BaseException), result
                self.applied(entry)
        final = self.expected[wallet]
        assert final >= 0
        assert all(a > final for a, r in zip(debits, results, strict=True)
                   if isinstance(r, InsufficientFunds))

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def balances_are_the_sums_of_postings(self) -> None:
        for sql in CHECKS:
            assert self.count(sql) == 0, sql
        for account, expected in self.expected.items():
            assert self.run(self.plain.balance(account)) == expected, account

    @invariant()
    def each_source_key_posted_once_and_nothing_else(self) -> None:
        total = self.count("SELECT count(*) FROM journal_entries")
        assert total == self.entries_before + len(self.posted)

    def teardown(self) -> None:
        try:
            self.run(self.pool.close())
        finally:
            self.loop.close()


async def _kill_while_posting(pool: Any, ledger: LedgerRepository, entry: NewJournalEntry,
                              wallet: UUID) -> Any:
    """Post `entry` while another transaction holds the wallet's row; terminate the posting's
    backend once it waits; then let go. Returns the post's result or its exception."""
    async with pool.acquire() as blocker, pool.acquire() as watcher:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", wallet)
        task = asyncio.ensure_future(ledger.post(entry))
        pid = None
        while pid is None:  # wait for the posting to block (no time limit asserted)
            await asyncio.sleep(0.005)
            pid = await watcher.fetchval(WAITING)
        assert await watcher.fetchval("SELECT pg_terminate_backend($1)", pid)
        while True:  # the batched ledger may retry alone and wait again: let it go then
            done, _ = await asyncio.wait([task], timeout=0.05)
            if done or await watcher.fetchval(WAITING) is not None:
                break
        await tx.rollback()
        return (await asyncio.gather(task, return_exceptions=True))[0]


async def _partial_then_rollback(pool: Any, entry: NewJournalEntry, statements: int) -> None:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        entry_id = await conn.fetchval(
            "INSERT INTO journal_entries (source_type, source_id) VALUES ($1, $2) RETURNING id",
            entry.source_type, entry.source_id)
        if statements > 1:
            leg = entry.postings[0]
            await conn.execute("INSERT INTO postings (journal_entry_id, account_id,"
                               " amount_centavos) VALUES ($1, $2, $3)", entry_id,
                               leg.account_id, leg.amount_centavos)
        await tx.rollback()


def test_random_money_movements_replays_and_crashes_keep_the_ledger_exact(
        migrated_pg_dsn: str) -> None:
    LedgerMachine.dsn = migrated_pg_dsn
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_a_terminated_posting_leaves_nothing(migrated_pg_dsn: str) -> None:
    """The crash rule on its own, once, so a failure names it."""
    async def body() -> None:
        pool = await create_pool(migrated_pg_dsn, min_size=1, max_size=4)
        try:
            ledger = PgLedgerRepository(pool)
            wallet = (await ledger.account(AccountKind.USER_WALLET, await new_user(pool))).id
            psp = (await ledger.account(AccountKind.PSP_CLEARING)).id
            entry = NewJournalEntry("stripe_event", uuid.uuid4().hex,
                                    (PostingIn(wallet, 700), PostingIn(psp, -700)))
            outcome = await _kill_while_posting(pool, ledger, entry, wallet)
            assert isinstance(outcome, asyncpg.PostgresError | asyncpg.InterfaceError)
            assert await ledger.entry_by_source(entry.source_type, entry.source_id) is None
            assert await ledger.balance(wallet) == 0
            assert (await ledger.post(entry)).created and await ledger.balance(wallet) == 700
        finally:
            await pool.close()
    asyncio.run(body())
