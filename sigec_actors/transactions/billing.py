"""Posting a finished transaction's cost once: wallet first, the shortfall as a receivable."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import msgspec

from sigec_actors.domain import errors as store_errors
from sigec_actors.domain import events as subjects
from sigec_actors.domain.ledger import AccountKind, JournalEntry, NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.ports import LedgerRepository
from sigec_actors.transactions.accounts import AccountCache
from sigec_actors.transactions.ports import TransactionQueries

SOURCE_TYPE = "charging_session"
_ATTEMPTS = 4


class SettlementKind(StrEnum):
    POSTED = "posted"  # a journal entry exists for the transaction (maybe from before)
    FREE = "free"  # cost 0: nothing to post
    NO_USER = "no_user"  # no known owner (unknown or NoAuthorization token): not billable
    HELD_ACTIVE = "held_active"  # not ended yet
    HELD_INCOMPLETE = "held_incomplete"  # seqNo gap or no Started: reconcile first (R3)


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    """What billing did; `created` False on a replay (the entry was posted before)."""

    kind: SettlementKind
    entry_id: UUID | None = None
    wallet_centavos: int = 0
    receivable_centavos: int = 0
    created: bool = False


def source_id(station_id: str, station_transaction_id: str) -> str:
    """The journal source key of a charging session: one entry per (station, transactionId)."""
    return f"{station_id}/{station_transaction_id}"


def split(cost_centavos: int, wallet_centavos: int) -> tuple[int, int]:
    """(from wallet, as receivable): the wallet pays what it holds, the rest is owed."""
    from_wallet = min(max(wallet_centavos, 0), cost_centavos)
    return from_wallet, cost_centavos - from_wallet


def hold_reason(tx: Transaction, force: bool = False) -> SettlementKind | None:
    """Why a transaction is not billed (yet), or None when it should be posted now."""
    if tx.status is not TxStatus.ENDED:
        return SettlementKind.HELD_ACTIVE
    if tx.seq_gap and not force:
        return SettlementKind.HELD_INCOMPLETE
    if tx.cost_centavos <= 0:
        return SettlementKind.FREE
    return SettlementKind.NO_USER if tx.user_id is None else None


class BillingService:
    """Posts each ended, complete transaction's final cost exactly once.

    The journal's unique source key ('charging_session', 'station/transactionId') makes every
    retry, duplicate Ended, restart or concurrent call a replay of the first posting.
    """

    def __init__(self, ledger: LedgerRepository) -> None:
        self._ledger = ledger
        self._accounts = AccountCache(ledger)

    async def settle(self, tx: Transaction, *, force: bool = False) -> Settlement:
        """Post `tx` (force: also when incomplete, for an operator's decision)."""
        held = hold_reason(tx, force)
        if held is not None:
            return Settlement(kind=held)
        key = source_id(tx.station_id, tx.station_transaction_id)
        for attempt in range(_ATTEMPTS):
            # Most settles are the first: post straight away. A replay posts the same
            # entry (created False) or, the wallet having moved since, conflicts: look it up.
            existing = await self._ledger.entry_by_source(SOURCE_TYPE, key) if attempt else None
            if existing is not None:
                return await self._replayed(existing, tx)
            try:
                return await self._post(tx, key)
            except (store_errors.InsufficientFunds, store_errors.JournalEntryConflict):
                continue  # the wallet moved, or a concurrent settle won: look again
        raise RuntimeError(f"settling {key} kept conflicting")  # pragma: no cover

    async def settle_unbilled(self, queries: TransactionQueries,
                              limit: int = 100) -> list[Settlement]:
        """Sweep: post ended transactions whose billing was interrupted (crash, DB outage)."""
        return [await self.settle(tx) for tx in await queries.unbilled(SOURCE_TYPE, limit)]

    async def _post(self, tx: Transaction, key: str) -> Settlement:
        assert tx.user_id is not None
        wallet = await self._accounts.account(AccountKind.USER_WALLET, tx.user_id, tx.currency)
        debt = await self._accounts.account(AccountKind.USER_RECEIVABLE, tx.user_id, tx.currency)
        revenue = await self._accounts.account(AccountKind.PLATFORM_REVENUE, None, tx.currency)
        paid, owed = split(tx.cost_centavos, await self._ledger.balance(wallet.id))
        legs = [PostingIn(revenue.id, tx.cost_centavos)]
        legs += [PostingIn(wallet.id, -paid)] if paid else []
        legs += [PostingIn(debt.id, -owed)] if owed else []
        entry = NewJournalEntry(
            source_type=SOURCE_TYPE, source_id=key, postings=tuple(legs), currency=tx.currency,
            description=f"Recarga {key}: {tx.energy_wh} Wh",
            metadata={"transactionId": str(tx.id), "energyWh": tx.energy_wh,
                      "walletCentavos": paid, "receivableCentavos": owed})
        result = await self._ledger.post(entry, _events(tx, paid))
        return Settlement(kind=SettlementKind.POSTED, entry_id=result.entry.id,
                          wallet_centavos=paid, receivable_centavos=owed,
                          created=result.created)

    async def _replayed(self, entry: JournalEntry, tx: Transaction) -> Settlement:
        assert tx.user_id is not None
        wallet = await self._accounts.account(AccountKind.USER_WALLET, tx.user_id, tx.currency)
        paid = -sum(p.amount_centavos for p in entry.postings if p.account_id == wallet.id)
        total = sum(p.amount_centavos for p in entry.postings if p.amount_centavos > 0)
        return Settlement(kind=SettlementKind.POSTED, entry_id=entry.id, wallet_centavos=paid,
                          receivable_centavos=total - paid, created=False)


def _events(tx: Transaction, paid: int) -> tuple[OutboxMessage, ...]:
    if not paid:
        return ()
    return (OutboxMessage(subjects.WALLET_DEBITED, {
        "userId": str(tx.user_id), "amountCentavos": paid, "currency": tx.currency,
        "source": source_id(tx.station_id, tx.station_transaction_id)}),)
