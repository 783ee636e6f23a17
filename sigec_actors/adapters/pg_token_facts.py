"""What Authorizer.check reads about id tokens, for all concurrent checks in one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from sigec_actors.adapters.pg import to_record
from sigec_actors.batching import Batcher
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import IdToken, IdTokenStatus, IdTokenType, UserStatus
from sigec_actors.ports import DbPool
from sigec_actors.transactions.ports import TokenFacts

Ask = tuple[str, IdTokenType, datetime, str]
# Per (idToken, type): the token row (as IdTokenRepository.find; Blocked while its owner is
# suspended, so a suspended user's cards stop authorizing at once), its active transactions
# changed since `since` (as TransactionQueries.active_with_token) and the sum of the postings
# of its owner's wallet and receivable accounts (as LedgerRepository.balance of each).
_FACTS = (
    "SELECT k.i AS batch_ord, t.*,"
    " (SELECT coalesce(jsonb_agg(jsonb_build_array(x.charge_point_id,"
    " x.station_transaction_id)), '[]'::jsonb) FROM transactions x WHERE x.status = 'Active'"
    " AND x.id_token = k.tok AND x.id_token_type = k.typ AND x.updated_at >= k.since)"
    " AS active_transactions,"
    " (SELECT coalesce(sum(p.amount_centavos), 0) FROM ledger_accounts a"
    " JOIN postings p ON p.account_id = a.id WHERE a.user_id = t.user_id"
    " AND a.kind = ANY($5::text[]) AND a.currency = k.cur) AS available_centavos,"
    " u.status AS owner_status"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])"
    " WITH ORDINALITY AS k(tok, typ, since, cur, i)"
    " LEFT JOIN id_tokens t ON t.id_token = k.tok AND t.type = k.typ"
    " LEFT JOIN users u ON u.id = t.user_id ORDER BY k.i")
_FUNDS = [AccountKind.USER_WALLET.value, AccountKind.USER_RECEIVABLE.value]


class PgTokenFacts:
    """TokenReads on PostgreSQL: concurrent checks share one query (a Batcher)."""

    def __init__(self, pool: DbPool, *, max_batch: int = 64, max_inflight: int = 2) -> None:
        self._pool = pool
        self._batcher: Batcher[Ask, TokenFacts] = Batcher(
            self._many, max_batch=max_batch, max_inflight=max_inflight)

    async def token_facts(self, id_token: str, token_type: IdTokenType, *, since: datetime,
                          currency: str = "BRL") -> TokenFacts:
        return await self._batcher.submit((id_token, token_type, since, currency))

    async def _many(self, asks: Sequence[Ask]) -> list[TokenFacts]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_FACTS, [a[0] for a in asks], [a[1].value for a in asks],
                                    [a[2] for a in asks], [a[3] for a in asks], _FUNDS)
        return [_facts(dict(row)) for row in rows]


def _facts(row: dict[str, Any]) -> TokenFacts:
    active = row.pop("active_transactions")
    available = int(row.pop("available_centavos"))
    owner_status = row.pop("owner_status")
    del row["batch_ord"]
    token = None if row["id"] is None else to_record(row, IdToken)
    if token is not None and owner_status != UserStatus.ACTIVE:  # suspended: its cards too
        token = msgspec.structs.replace(token, status=IdTokenStatus.BLOCKED)
    return TokenFacts(token=token, active=tuple((s, x) for s, x in active),
                      available_centavos=available if token is not None else 0)
