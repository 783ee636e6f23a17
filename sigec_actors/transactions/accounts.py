"""Ledger accounts by (kind, user, currency), remembered: a row is created once, never changed."""

from __future__ import annotations

from uuid import UUID

from sigec_actors.domain.ledger import AccountKind, LedgerAccount
from sigec_actors.ports import LedgerRepository


class AccountCache:
    """`LedgerRepository.account` without a round trip once an account was seen.

    Accounts are never updated nor deleted (their balances live in other columns, which are
    always read from the database), so a remembered row stays right. Bounded: cleared when full.
    """

    def __init__(self, ledger: LedgerRepository, max_entries: int = 50_000) -> None:
        self._ledger = ledger
        self._max = max_entries
        self._rows: dict[tuple[AccountKind, UUID | None, str], LedgerAccount] = {}

    async def account(self, kind: AccountKind, user_id: UUID | None = None,
                      currency: str = "BRL") -> LedgerAccount:
        key = (kind, user_id, currency)
        row = self._rows.get(key)
        if row is None:
            row = await self._ledger.account(kind, user_id, currency)
            if len(self._rows) >= self._max:
                self._rows.clear()
            self._rows[key] = row
        return row
