"""Frozen records of the double-entry wallet ledger (amounts in integer centavos)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.domain.errors import UnbalancedEntry


class AccountKind(StrEnum):
    USER_WALLET = "user_wallet"
    USER_RECEIVABLE = "user_receivable"
    PLATFORM_REVENUE = "platform_revenue"
    PSP_CLEARING = "psp_clearing"
    V2G_PAYABLE = "v2g_payable"
    REFUNDS = "refunds"


USER_KINDS = frozenset({AccountKind.USER_WALLET, AccountKind.USER_RECEIVABLE})
"""Kinds that belong to one user; the others are platform accounts (one per currency)."""

NON_NEGATIVE_KINDS = frozenset({AccountKind.USER_WALLET})
"""Kinds whose balance may never go below zero (a short wallet books a receivable instead)."""


class LedgerAccount(msgspec.Struct, frozen=True):
    id: UUID
    kind: AccountKind
    user_id: UUID | None
    currency: str
    allow_negative: bool
    created_at: datetime


class PostingIn(msgspec.Struct, frozen=True):
    """One leg of an entry: adds `amount_centavos` (signed, non-zero) to the account balance."""

    account_id: UUID
    amount_centavos: int


class NewJournalEntry(msgspec.Struct, frozen=True):
    """An entry keyed by its source event: (source_type, source_id) is posted at most once."""

    source_type: str
    source_id: str
    postings: tuple[PostingIn, ...]
    currency: str = "BRL"
    description: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class JournalEntry(msgspec.Struct, frozen=True):
    id: UUID
    source_type: str
    source_id: str
    currency: str
    description: str
    postings: tuple[PostingIn, ...]
    created_at: datetime


class PostResult(msgspec.Struct, frozen=True):
    """`created` is False when the source key had been posted before (idempotent replay)."""

    entry: JournalEntry
    created: bool


class AccountActivity(msgspec.Struct, frozen=True):
    """One line of an account's history (a wallet statement line)."""

    entry_id: UUID
    source_type: str
    source_id: str
    description: str
    amount_centavos: int
    created_at: datetime


def same_postings(a: tuple[PostingIn, ...], b: tuple[PostingIn, ...]) -> bool:
    """True when two posting lists are equal as multisets."""
    def key(p: PostingIn) -> tuple[str, int]:
        return (str(p.account_id), p.amount_centavos)
    return sorted(a, key=key) == sorted(b, key=key)


def check_balanced(entry: NewJournalEntry) -> None:
    """Raise UnbalancedEntry unless the entry has >= 2 non-zero postings summing to zero."""
    total = sum(p.amount_centavos for p in entry.postings)
    if total != 0 or len(entry.postings) < 2 or any(p.amount_centavos == 0
                                                    for p in entry.postings):
        raise UnbalancedEntry(entry.source_type, entry.source_id, total)
