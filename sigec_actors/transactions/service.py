"""The imperative shell of TransactionEvent handling: look up, decide, commit, bill, answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import (
    RemoteStart,
    Transaction,
    TransactionEventIn,
    TxDecision,
    TxEventType,
    TxRecordResult,
    TxStatus,
)
from sigec_actors.ocpp.generated.v201 import (
    AuthorizationStatusEnum,
    TransactionEventRequest,
    TransactionEventResponse,
)
from sigec_actors.ports import TransactionEventStore
from sigec_actors.transactions.authorize import AuthDecision, Authorizer
from sigec_actors.transactions.billing import BillingService, Settlement
from sigec_actors.transactions.costs import cost_updated
from sigec_actors.transactions.decide import DecideContext, decide_folded, owned
from sigec_actors.transactions.errors import StaleHistory, TransactionStoreUnavailable
from sigec_actors.transactions.facts import EventFacts, event_in, facts_of, request_of_payload
from sigec_actors.transactions.fold import Folded, fold
from sigec_actors.transactions.history_cache import HistoryCache
from sigec_actors.transactions.plausibility import ImplausibleEvent, Limits, refusal
from sigec_actors.transactions.ports import (
    AfterCommit,
    ContextReads,
    GuardedWrites,
    RemoteStarts,
    ReservationRepository,
    Snapshots,
    TariffRepository,
)
from sigec_actors.transactions.reservation_model import Reservation, blocks_start
from sigec_actors.transactions.reservations import ReservationService
from sigec_actors.transactions.tariffs import Tariff, pick

__all__ = ["DB_FAILURES", "TransactionService", "cost_updated"]

_TOKEN_TYPES = frozenset(t.value for t in IdTokenType)
_MAX_TARIFFS = 10_000

class TransactionService:
    """Handles TransactionEvents for the ChargePoint actor (its TransactionEventHandler port).

    Every answer is committed first; a duplicate gets the first answer; a database problem
    raises TransactionStoreUnavailable within `timeout_s` (the actor answers InternalError);
    a new event beyond `limits` raises ImplausibleEvent, nothing stored (PropertyConstraint-
    Violation).
    Billing runs after the commit on every Ended, duplicates included, so a crash between the
    two is repaired by the station's retry (or by BillingService.settle_unbilled).
    `observers` (CostNotifier, Reconciler) hear of every committed event; they never block.
    """

    def __init__(self, store: TransactionEventStore, tariffs: TariffRepository,
                 authorizer: Authorizer, billing: BillingService, *, default_tariff: Tariff,
                 clock: Callable[[], datetime], reservations: ReservationRepository | None = None,
                 timeout_s: float = 5.0, attempts: int = 5,
                 observers: Iterable[AfterCommit] = (), limits: Limits | None = None) -> None:
        self._store = store
        self._tariffs = tariffs
        self._auth = authorizer
        self._billing = billing
        self._default = default_tariff
        self._clock = clock
        self._reservation_repo = reservations
        self._reservations = ReservationService(reservations) if reservations else None
        self._timeout = timeout_s
        self._attempts = attempts
        self._observers = tuple(observers)
        self._limits = limits if limits is not None else Limits()
        self._cache = HistoryCache()
        self._snapshots = store if isinstance(store, Snapshots) else None
        self._context_reads = store if isinstance(store, ContextReads) else None
        self._guarded = store if isinstance(store, GuardedWrites) else None
        self._remote_starts = store if isinstance(store, RemoteStarts) else None
        self._tariff_ids: dict[UUID, Tariff] = {}  # tariff rows never change once stored
        self.last_settlement: Settlement | None = None

    async def handle(self, station_id: str,
                     request: TransactionEventRequest) -> TransactionEventResponse:
        """The ChargePoint actor's port: handle_event at the injected clock's now."""
        return await self.handle_event(station_id, request, self._clock())

    async def handle_event(self, station_id: str, request: TransactionEventRequest,
                           now: datetime) -> TransactionEventResponse:
        """Store the event once and answer it; raises TransactionStoreUnavailable."""
        tx_id = request.transaction_info.transaction_id
        try:
            async with asyncio.timeout(self._timeout):
                return await self._handle(station_id, request, now)
        except DB_FAILURES as exc:
            raise TransactionStoreUnavailable(
                station_id, tx_id, request.seq_no, f"{type(exc).__name__}: {exc}") from exc

    async def _handle(self, station_id: str, request: TransactionEventRequest,
                      now: datetime) -> TransactionEventResponse:
        record = event_in(station_id, request)
        facts = facts_of(request)
        key = (station_id, record.station_transaction_id)
        # A Started no node has cached is most likely new: write it as such, unread (the
        # guarded write refuses it if the transaction exists, and we read it then).
        guess = self._guarded is not None and facts.event_type is TxEventType.STARTED
        for attempt in range(self._attempts):
            current, history = await self._look(*key, guess_new=guess and attempt == 0)
            try:
                result = await self._record(record, facts, current, history, now)
            except StaleHistory:
                self._cache.forget(key)
                continue
            except BaseException:
                self._cache.forget(key)
                raise
            self._remember(key, record, result, history)
            await self._after(station_id, result, facts, current)
            return msgspec.convert(result.response, TransactionEventResponse)
        raise TransactionStoreUnavailable(station_id, record.station_transaction_id,
                                          facts.seq_no, "transaction kept changing concurrently")

    async def _record(self, record: TransactionEventIn, facts: EventFacts,
                      current: Transaction | None, history: list[EventFacts],
                      now: datetime) -> TxRecordResult:
        duplicate = any(h.seq_no == facts.seq_no for h in history)
        if self._guarded is not None and duplicate:
            return await self._guarded.stored(record)
        if duplicate:
            return await self._store.record(record, _never_called)
        refused = refusal(facts, history, self._limits)
        if refused is not None:
            raise ImplausibleEvent(record.station_id, record.station_transaction_id,
                                   facts.seq_no, refused.path, refused.value, refused.limit,
                                   refused.problem)
        ctx, folded = await self._context(record.station_id, record.station_transaction_id,
                                          facts, current, history, now)
        if self._guarded is not None:
            return await self._guarded.write(record, current,
                                             decide_folded(current, folded, facts, ctx))
        return await self._store.record(record, _checked(current, folded, facts, ctx))

    def _remember(self, key: tuple[str, str], record: TransactionEventIn,
                  result: TxRecordResult, history: list[EventFacts]) -> None:
        """After our own commit: the row and history the next event of `key` starts from."""
        if result.duplicate or result.transaction is None:
            self._cache.forget(key)
        else:  # the facts as a later read of the stored payload would give them
            stored = facts_of(request_of_payload(record.payload))
            self._cache.committed(key, result.transaction, history, stored)

    async def _look(self, station_id: str, tx_id: str, *,
                    guess_new: bool = False) -> tuple[Transaction | None, list[EventFacts]]:
        """The transaction (None if new) and its stored events' facts in seqNo order: this
        node's last commit if it has one (the store checks it is still current), else a new
        transaction if `guess_new`, else read."""
        hit = self._cache.get((station_id, tx_id))
        if hit is not None:
            return hit
        if guess_new:
            return None, []
        if self._snapshots is not None:
            current, payloads = await self._snapshots.snapshot(station_id, tx_id)
            return current, [facts_of(request_of_payload(p)) for p in payloads]
        current = await self._store.find(station_id, tx_id)
        return current, await self._history(current)

    async def _history(self, current: Transaction | None) -> list[EventFacts]:
        if current is None:
            return []
        stored = await self._store.events(current.station_id, current.station_transaction_id)
        return [facts_of(request_of_payload(s.payload)) for s in stored]

    async def _context(self, station_id: str, tx_id: str, facts: EventFacts,
                       current: Transaction | None, history: Sequence[EventFacts],
                       now: datetime) -> tuple[DecideContext, Folded]:
        folded = fold([*history, facts])
        remote = await self._remote(station_id, tx_id, folded, current)
        folded = owned(folded, current, remote)
        own = held = None
        if facts.id_token is not None and facts.id_token_type is not None:
            (tariff, owner), own, held = await asyncio.gather(  # independent reads, at once
                self._priced(station_id, current, folded),
                self._auth.check(facts.id_token, facts.id_token_type, now,
                                 exclude=(station_id, tx_id)),
                self._held(station_id, facts.evse_id))
            own = reserved_for_other(held, facts, own, now)
        else:
            tariff, owner = await self._priced(station_id, current, folded)
        return DecideContext(
            station_id=station_id, station_transaction_id=tx_id, tariff=tariff,
            user_id=(remote.user_id if remote is not None and remote.user_id is not None
                     else await self._owner(folded, facts, own, owner)),
            reservation_id=await self._reservation_row(
                station_id, folded, _holders(held, facts, own)),
            id_token_info=self._auth.info(own, now) if own is not None else None,
            remote=remote), folded

    async def _remote(self, station_id: str, tx_id: str, folded: Folded,
                      current: Transaction | None) -> RemoteStart | None:
        """Our remote start the events name, claimed for this transaction, while the
        transaction has no token of its own yet (then it is the asker's)."""
        if (self._remote_starts is None or folded.remote_start_id is None
                or (current is not None and current.id_token is not None)):
            return None
        return await self._remote_starts.claim_remote_start(
            station_id, folded.remote_start_id, tx_id)

    async def _priced(self, station_id: str, current: Transaction | None,
                      folded: Folded) -> tuple[Tariff, tuple[UUID | None] | None]:
        """The transaction's tariff, and (owner,) of its token when known without asking the
        Authorizer. A session keeps the tariff picked for its row while what it was picked
        for (connector, start time) holds, and the owner its token had: neither is read again.
        """
        tariff = self._kept_tariff(current, folded)
        owner = _kept_owner(current, folded)
        if tariff is not None and (owner is not None or folded.id_token is None):
            return tariff, owner
        candidates, looked = await self._lookups(station_id, folded)
        if len(self._tariff_ids) > _MAX_TARIFFS:
            self._tariff_ids.clear()
        self._tariff_ids.update((t.id, t) for t in candidates if t.id is not None)
        if tariff is None:  # the row's own tariff if it is known now (e.g. after a restart)
            tariff = self._kept_tariff(current, folded) or pick(
                candidates, station_id, folded.evse_id, folded.connector_id,
                folded.started_at, self._default)
        return tariff, owner if owner is not None else looked

    def _kept_tariff(self, current: Transaction | None, folded: Folded) -> Tariff | None:
        if current is None or (current.started_at, current.evse_id, current.connector_id) != (
                folded.started_at, folded.evse_id, folded.connector_id):
            return None
        if current.tariff_id is None:  # the row was priced with the configured default
            return self._default
        return self._tariff_ids.get(current.tariff_id)

    async def _lookups(self, station_id: str,
                       folded: Folded) -> tuple[list[Tariff], tuple[UUID | None] | None]:
        """Tariff candidates, and (owner,) of the transaction's token when the store reads
        both in one round trip (else None: `_owner` asks the Authorizer)."""
        if self._context_reads is None:
            return await self._tariffs.candidates(station_id), None
        token = None
        if folded.id_token is not None and folded.id_token_type in _TOKEN_TYPES:
            token = (folded.id_token, folded.id_token_type)
        candidates, owner = await self._context_reads.lookups(station_id, token)
        return candidates, (owner,)

    async def _owner(self, folded: Folded, facts: EventFacts, own: AuthDecision | None,
                     known: tuple[UUID | None] | None) -> UUID | None:
        if folded.id_token is None or folded.id_token_type is None:
            return None
        if own is not None and (folded.id_token, folded.id_token_type) == (
                facts.id_token, facts.id_token_type):
            return own.user_id
        if known is not None:  # read with the tariffs (an invalid token type owns nothing)
            return known[0]
        return await self._auth.owner(folded.id_token, folded.id_token_type)

    async def _held(self, station_id: str, evse_id: int | None) -> Reservation | None:
        """The live reservation of the event's EVSE, if any."""
        if self._reservation_repo is None or evse_id is None:
            return None
        return await self._reservation_repo.live_for_evse(station_id, evse_id)

    async def _reservation_row(self, station_id: str, folded: Folded,
                               holders: Reservation | None) -> UUID | None:
        """Our reservation row for the transaction: the one it names, unless it is another
        token's; else the EVSE's live one when its holder starts there without naming it."""
        if self._reservation_repo is None:
            return None
        if folded.reservation_id is not None:
            r = await self._reservation_repo.by_ocpp_id(station_id, folded.reservation_id)
            return r.id if r is not None and _same_token(r, folded.id_token) else None
        return holders.id if holders is not None else None

    async def _after(self, station_id: str, result: TxRecordResult, facts: EventFacts,
                     before: Transaction | None) -> None:
        if before is None and facts.id_token is not None and facts.id_token_type is not None:
            self._auth.cache.forget(facts.id_token, facts.id_token_type)  # now in a transaction
        tx = result.transaction
        if tx is None:
            return
        if self._reservations is not None and tx.reservation_id is not None and (
                result.duplicate or before is None or before.reservation_id != tx.reservation_id):
            await self._reservations.use_row(tx.reservation_id)  # a retry repairs a crash here
        if tx.status is TxStatus.ENDED:
            self.last_settlement = await self._billing.settle(tx)
        for observer in self._observers:
            observer.committed(tx, facts.event_type, result.duplicate)


def reserved_for_other(held: Reservation | None, facts: EventFacts, own: AuthDecision,
                       now: datetime) -> AuthDecision:
    """A live reservation of the EVSE answers NotAtThisTime to every token but its holder's
    (any token of the holding user: app token or card), even one naming the reservation."""
    if (own.status is AuthorizationStatusEnum.ACCEPTED and blocks_start(held, facts.id_token, now)
            and not _same_user(held, own)):
        return msgspec.structs.replace(own, status=AuthorizationStatusEnum.NOT_AT_THIS_TIME)
    return own


def _holders(held: Reservation | None, facts: EventFacts,
             own: AuthDecision | None) -> Reservation | None:
    """`held` when this event's token is its holder's and was accepted, else None."""
    if held is None or own is None or own.status is not AuthorizationStatusEnum.ACCEPTED:
        return None
    mine = facts.id_token is not None and _same_token(held, facts.id_token)
    return held if mine or _same_user(held, own) else None


def _same_user(held: Reservation | None, own: AuthDecision) -> bool:
    return held is not None and own.user_id is not None and own.user_id == held.user_id


def _same_token(r: Reservation, id_token: str | None) -> bool:
    """Unknown token (None) or the holder's (tokens compare case-insensitively)."""
    return id_token is None or id_token.casefold() == r.id_token.casefold()


def _kept_owner(current: Transaction | None, folded: Folded) -> tuple[UUID | None] | None:
    """(owner,) stored on the row for the transaction's token, if the row has one."""
    if current is None or current.user_id is None or (
            current.id_token, current.id_token_type) != (folded.id_token, folded.id_token_type):
        return None
    return (current.user_id,)


def _checked(current: Transaction | None, folded: Folded, facts: EventFacts,
             ctx: DecideContext) -> Callable[[Transaction | None], TxDecision]:
    """`decide`, refusing (StaleHistory) if the row moved since its history was read."""
    def run(locked: Transaction | None) -> TxDecision:
        if locked != current:
            raise StaleHistory(ctx.station_id, ctx.station_transaction_id)
        return decide_folded(locked, folded, facts, ctx)
    return run


def _never_called(current: Transaction | None) -> TxDecision:
    raise AssertionError("a stored seqNo is a duplicate; the store never decides it")

