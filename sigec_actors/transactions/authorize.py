"""Id token authorization: a pure status rule, a short-lived cache, and the Authorizer shell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import IdToken, IdTokenStatus, IdTokenType
from sigec_actors.ocpp.generated.v201 import (
    AuthorizationStatusEnum,
    AuthorizeRequest,
    AuthorizeResponse,
    IdTokenInfo,
)
from sigec_actors.ocpp.generated.v201 import IdToken as WireIdToken
from sigec_actors.ports import IdTokenRepository, LedgerRepository
from sigec_actors.transactions.accounts import AccountCache
from sigec_actors.transactions.ports import TokenReads, TransactionQueries

A = AuthorizationStatusEnum
_STORED = {IdTokenStatus.BLOCKED: A.BLOCKED, IdTokenStatus.INVALID: A.INVALID,
           IdTokenStatus.EXPIRED: A.EXPIRED}


class AuthDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The answer for one token: OCPP status plus the owner when the token is known."""

    status: AuthorizationStatusEnum
    user_id: UUID | None = None
    token_id: UUID | None = None


def token_status(token: IdToken | None, now: datetime) -> AuthorizationStatusEnum | None:
    """The status the token row alone decides (Unknown/Blocked/Invalid/Expired), else None."""
    if token is None:
        return A.UNKNOWN
    if token.status in _STORED:
        return _STORED[token.status]
    if token.expires_at is not None and token.expires_at <= now:
        return A.EXPIRED
    return None


def account_status(concurrent: bool, available_centavos: int,
                   min_balance_centavos: int) -> AuthorizationStatusEnum:
    """ConcurrentTx before NoCredit; wallet minus debts must cover the minimum session amount."""
    if concurrent:
        return A.CONCURRENT_TX
    if available_centavos < min_balance_centavos:
        return A.NO_CREDIT
    return A.ACCEPTED


Scope = tuple[str, str] | None
"""The (station, transactionId) asking, or None for a plain Authorize."""


class AuthCache:
    """Accepted answers for `ttl_s`, keyed by (idToken, type) and the asking transaction.

    Only Accepted is cached, and a hit is re-checked against the token row (token_status), so a
    block, expiry or removal takes effect at once: the cache saves the wallet and concurrency
    queries, never the block check. `forget` drops a token's entries (e.g. it started a
    transaction, so other scopes must see ConcurrentTx).
    """

    def __init__(self, ttl_s: float = 15.0, max_entries: int = 10_000) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_entries
        self._entries: dict[tuple[str, str], dict[Scope, tuple[AuthDecision, datetime]]] = {}

    def get(self, key: tuple[str, str], scope: Scope, now: datetime) -> AuthDecision | None:
        hit = self._entries.get(key, {}).get(scope)
        if hit is None or hit[1] <= now:
            return None
        return hit[0]

    def put(self, key: tuple[str, str], scope: Scope, decision: AuthDecision,
            now: datetime) -> None:
        if decision.status is not A.ACCEPTED:
            self._entries.pop(key, None)
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # crude but bounded; a miss only costs two queries
        self._entries.setdefault(key, {})[scope] = (decision, now + self._ttl)

    def forget(self, id_token: str, token_type: str) -> None:
        self._entries.pop((id_token, token_type), None)

    def __len__(self) -> int:
        return sum(len(scopes) for scopes in self._entries.values())


class Authorizer:
    """Answers id tokens for Authorize and TransactionEvent (ChargePoint `Authorizer` port).

    `min_balance_centavos`: the wallet (minus receivables) must hold at least this much, or
    the answer is NoCredit. `station_cache_s`: cacheExpiryDateTime given to stations, so their
    own authorization cache does not keep an Accepted token for long after a block.
    `reads`: when given, a check reads the token, its active transactions and its owner's
    balances in one go (batched with concurrent checks) instead of the cache and four queries.
    """

    def __init__(self, id_tokens: IdTokenRepository, ledger: LedgerRepository,
                 queries: TransactionQueries, *, clock: Callable[[], datetime],
                 min_balance_centavos: int = 0, cache: AuthCache | None = None,
                 station_cache_s: int = 300, concurrent_window_h: int = 24,
                 reads: TokenReads | None = None) -> None:
        self._tokens = id_tokens
        self._ledger = ledger
        self._accounts = AccountCache(ledger)
        self._queries = queries
        self._clock = clock
        self._min = min_balance_centavos
        self.cache = cache if cache is not None else AuthCache()
        self._station_cache = timedelta(seconds=station_cache_s)
        self._window = timedelta(hours=concurrent_window_h)
        self._reads = reads

    async def check(self, id_token: str, token_type: str, now: datetime, *,
                    exclude: Scope = None) -> AuthDecision:
        """Decide for a token; `exclude` = (station, transactionId) of the asking transaction."""
        if token_type == IdTokenType.NO_AUTHORIZATION:
            return AuthDecision(status=A.ACCEPTED)
        try:
            kind = IdTokenType(token_type)
        except ValueError:
            return AuthDecision(status=A.INVALID)
        if self._reads is not None:
            return await self._read_check(self._reads, id_token, kind, now, exclude)
        token = await self._tokens.find(id_token, kind)
        early = token_status(token, now)
        if early is not None or token is None:
            self.cache.forget(id_token, token_type)
            return AuthDecision(status=early or A.UNKNOWN,
                                user_id=token.user_id if token else None,
                                token_id=token.id if token else None)
        cached = self.cache.get((id_token, token_type), exclude, now)
        if cached is not None:
            return cached
        decision = AuthDecision(status=await self._account(token, now, exclude),
                                user_id=token.user_id, token_id=token.id)
        self.cache.put((id_token, token_type), exclude, decision, now)
        return decision

    async def _read_check(self, reads: TokenReads, id_token: str, kind: IdTokenType,
                          now: datetime, exclude: Scope) -> AuthDecision:
        facts = await reads.token_facts(id_token, kind, since=now - self._window)
        token = facts.token
        early = token_status(token, now)
        if early is not None or token is None:
            return AuthDecision(status=early or A.UNKNOWN,
                                user_id=token.user_id if token else None,
                                token_id=token.id if token else None)
        concurrent = any(active != exclude for active in facts.active)
        return AuthDecision(
            status=account_status(concurrent, facts.available_centavos, self._min),
            user_id=token.user_id, token_id=token.id)

    async def _account(self, token: IdToken, now: datetime,
                       exclude: tuple[str, str] | None) -> AuthorizationStatusEnum:
        active = await self._queries.active_with_token(token.id_token, token.type.value,
                                                       since=now - self._window)
        concurrent = any((t.station_id, t.station_transaction_id) != exclude for t in active)
        wallet = await self._accounts.account(AccountKind.USER_WALLET, token.user_id)
        debt = await self._accounts.account(AccountKind.USER_RECEIVABLE, token.user_id)
        available = await self._ledger.balance(wallet.id) + await self._ledger.balance(debt.id)
        return account_status(concurrent, available, self._min)

    async def owner(self, id_token: str, token_type: str) -> UUID | None:
        """The user holding a token (whatever its status), or None."""
        try:
            kind = IdTokenType(token_type)
        except ValueError:
            return None
        token = await self._tokens.find(id_token, kind)
        return token.user_id if token else None

    def info(self, decision: AuthDecision, now: datetime) -> IdTokenInfo:
        """The wire IdTokenInfo for a decision."""
        expiry = now + self._station_cache if decision.status is A.ACCEPTED else None
        return IdTokenInfo(status=decision.status, cache_expiry_date_time=expiry)

    async def authorize(self, station_id: str, id_token: WireIdToken) -> IdTokenInfo:
        """The ChargePoint actor's Authorizer port (Authorize without a transaction)."""
        now = self._clock()
        decision = await self.check(id_token.id_token, id_token.type.value, now)
        return self.info(decision, now)

    async def handle_authorize(self, station_id: str,
                               request: AuthorizeRequest) -> AuthorizeResponse:
        """Answer an AuthorizeRequest (business problems are statuses, never errors)."""
        return AuthorizeResponse(id_token_info=await self.authorize(station_id, request.id_token))
