"""Contract tests every repository implementation passes: in-memory fakes and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigec_actors.adapters.outbox import PgOutbox
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.adapters.pg_users import (
    PgIdTokenRepository,
    PgRefreshTokenRepository,
    PgUserRepository,
)
from sigec_actors.domain import errors as e
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import (
    AuditEntry,
    BootInfo,
    ConnectorStatus,
    IdTokenStatus,
    IdTokenType,
    NewLocation,
    NewStation,
    NewUser,
    OutboxMessage,
    Role,
    UserStatus,
)
from sigec_actors.domain.transactions import (
    MeterValueIn,
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxDecision,
    TxEventType,
    TxStatus,
)
from sigec_actors.ports import (
    AuditLog,
    IdTokenRepository,
    LedgerRepository,
    Outbox,
    RefreshTokenRepository,
    StationRepository,
    TransactionEventStore,
    UserRepository,
)
from sigec_actors.testing import (
    InMemoryAuditLog,
    InMemoryIdTokens,
    InMemoryLedger,
    InMemoryOutbox,
    InMemoryRefreshTokens,
    InMemoryStations,
    InMemoryTransactionEvents,
    InMemoryUsers,
)

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Repos:
    users: UserRepository
    stations: StationRepository
    id_tokens: IdTokenRepository
    refresh: RefreshTokenRepository
    tx: TransactionEventStore
    ledger: LedgerRepository
    audit: AuditLog
    outbox: Outbox


@pytest.fixture(params=["memory", "pg"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory fakes, else the DSN of a migrated database (sync: it may block)."""
    return None if request.param == "memory" else request.getfixturevalue("migrated_pg_dsn")


@pytest.fixture
async def repos(backend: str | None) -> AsyncIterator[Repos]:
    if backend is None:
        outbox = InMemoryOutbox()
        stations = InMemoryStations(outbox=outbox)
        yield Repos(InMemoryUsers(), stations, InMemoryIdTokens(), InMemoryRefreshTokens(),
                    InMemoryTransactionEvents(outbox=outbox, stations=stations),
                    InMemoryLedger(outbox=outbox), InMemoryAuditLog(), outbox)
        return
    pool = await create_pool(backend, min_size=1, max_size=5)
    yield Repos(PgUserRepository(pool), PgStationRepository(pool), PgIdTokenRepository(pool),
                PgRefreshTokenRepository(pool), PgTransactionEventStore(pool),
                PgLedgerRepository(pool), PgAuditLog(pool), PgOutbox(pool))
    await pool.close()


def _email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com.br"


def _sid() -> str:
    return f"CP-{uuid.uuid4().hex[:10]}"


async def _user(r: Repos) -> uuid.UUID:
    return (await r.users.create(NewUser("Ana", _email(), HASH))).id


# ---- users -------------------------------------------------------------------------------

async def test_user_create_get_and_case_insensitive_email(repos: Repos) -> None:
    email = _email()
    before = await repos.users.count()
    user = await repos.users.create(NewUser("Ana Souza", email, HASH, Role.OPERATOR))
    assert (user.name, user.email, user.role, user.status) == (
        "Ana Souza", email, Role.OPERATOR, UserStatus.ACTIVE)
    assert await repos.users.get(user.id) == user
    assert await repos.users.get_by_email(email.upper()) == user
    assert await repos.users.get(uuid.uuid4()) is None
    assert await repos.users.count() == before + 1
    with pytest.raises(e.EmailTaken) as info:
        await repos.users.create(NewUser("Other", email.upper(), HASH))
    assert info.value.email == email.upper()
    assert await repos.users.count() == before + 1


async def test_user_paging_and_updates(repos: Repos) -> None:
    ids = [await _user(repos) for _ in range(3)]
    total = await repos.users.count()
    everyone = await repos.users.page(limit=total)
    assert [u.id for u in everyone][-3:] == ids
    assert [u.id for u in await repos.users.page(limit=2, offset=total - 2)] == ids[1:]
    await repos.users.set_role(ids[0], Role.ADMIN)
    await repos.users.set_status(ids[0], UserStatus.SUSPENDED)
    await repos.users.set_password_hash(ids[0], HASH + "x")
    got = await repos.users.get(ids[0])
    assert got is not None
    assert (got.role, got.status, got.password_hash) == (
        Role.ADMIN, UserStatus.SUSPENDED, HASH + "x")
    with pytest.raises(e.UnknownUser):
        await repos.users.set_role(uuid.uuid4(), Role.USER)


# ---- stations ----------------------------------------------------------------------------

async def test_station_register_credentials_and_duplicates(repos: Repos) -> None:
    sid = _sid()
    loc = await repos.stations.add_location(NewLocation("Paulista", -23.561, -46.656, city="SP"))
    st = await repos.stations.register(NewStation(sid, 2, HASH, "ACME", "X1", loc.id))
    assert (st.id, st.vendor, st.model, st.location_id, st.security_profile, st.online) == (
        sid, "ACME", "X1", loc.id, 2, False)
    assert await repos.stations.get(sid) == st
    assert await repos.stations.get_location(loc.id) == loc
    creds = await repos.stations.credentials(sid)
    assert creds is not None
    assert (creds.password_hash, creds.security_profile) == (HASH, 2)
    with pytest.raises(e.StationExists):
        await repos.stations.register(NewStation(sid, 1, HASH))
    await repos.stations.set_credentials(sid, None, 3)
    creds = await repos.stations.credentials(sid)
    assert creds is not None
    assert (creds.password_hash, creds.security_profile) == (None, 3)
    assert await repos.stations.credentials("nope") is None
    with pytest.raises(e.UnknownStation):
        await repos.stations.set_credentials("nope", HASH, 1)
    await repos.stations.set_admin_status(sid, "Inoperative")
    stored = await repos.stations.get(sid)
    assert stored is not None and stored.admin_status == "Inoperative"
    with pytest.raises(e.UnknownStation):
        await repos.stations.set_admin_status("nope", "Operative")


async def test_station_boot_online_touch_and_filters(repos: Repos) -> None:
    sid = _sid()
    await repos.stations.register(NewStation(sid, 1, HASH))
    pending = await repos.outbox.pending_count()
    boot = BootInfo("ACME", "X2", "SN1", "1.2.3", reason="PowerUp")
    await repos.stations.update_boot_info(
        sid, boot, T0, events=[OutboxMessage("ocpp.device.boot", {"stationId": sid})])
    st = await repos.stations.get(sid)
    assert st is not None
    assert (st.vendor, st.model, st.serial_number, st.firmware_version, st.boot_reason) == (
        "ACME", "X2", "SN1", "1.2.3", "PowerUp")
    assert (st.online, st.last_seen, st.last_boot_at) == (True, T0, T0)
    assert await repos.outbox.pending_count() == pending + 1
    assert sid in [s.id for s in await repos.stations.page(limit=1000, online=True)]
    await repos.stations.touch(sid, T0 + timedelta(seconds=5))
    await repos.stations.touch(sid, T0 + timedelta(seconds=1))  # never moves back
    await repos.stations.set_online(sid, False, T0 + timedelta(seconds=9))
    st = await repos.stations.get(sid)
    assert st is not None
    assert (st.online, st.last_seen) == (False, T0 + timedelta(seconds=9))
    assert sid not in [s.id for s in await repos.stations.page(limit=1000, online=True)]
    assert await repos.stations.count() == await repos.stations.count(online=True) + \
        await repos.stations.count(online=False)
    for call in (repos.stations.touch("nope", T0), repos.stations.set_online("nope", True, T0),
                 repos.stations.update_boot_info("nope", boot, T0)):
        with pytest.raises(e.UnknownStation):
            await call


async def test_connector_status_upsert(repos: Repos) -> None:
    sid = _sid()
    await repos.stations.register(NewStation(sid, 1, HASH))
    await repos.stations.set_connector_status(sid, 2, 1, ConnectorStatus.AVAILABLE, now=T0)
    await repos.stations.set_connector_status(sid, 1, 1, ConnectorStatus.AVAILABLE, now=T0)
    later = T0 + timedelta(minutes=1)
    c = await repos.stations.set_connector_status(sid, 1, 1, ConnectorStatus.OCCUPIED, now=later)
    assert (c.station_id, c.evse_id, c.connector_id, c.status, c.status_changed_at) == (
        sid, 1, 1, ConnectorStatus.OCCUPIED, later)
    got = await repos.stations.connectors(sid)
    assert [(x.evse_id, x.status) for x in got] == [
        (1, ConnectorStatus.OCCUPIED), (2, ConnectorStatus.AVAILABLE)]
    with pytest.raises(e.UnknownStation):
        await repos.stations.set_connector_status("nope", 1, 1, ConnectorStatus.FAULTED, now=T0)


async def test_nearby_sorted_by_distance(repos: Repos) -> None:
    # Far from every other test's locations (south Atlantic), so the result is exact.
    near = await repos.stations.add_location(NewLocation("A", -40.0, -20.0))
    far = await repos.stations.add_location(NewLocation("B", -40.0, -20.1))
    out = await repos.stations.add_location(NewLocation("C", -41.0, -20.0))
    ids = [_sid() for _ in range(3)]
    for sid, loc in zip(ids, (far, near, out), strict=True):
        await repos.stations.register(NewStation(sid, 0, location_id=loc.id))
    found = await repos.stations.nearby(-40.0, -20.0, radius_km=20)
    assert [f.station.id for f in found] == [ids[1], ids[0]]
    assert found[0].distance_km == pytest.approx(0, abs=1e-6)
    assert found[1].distance_km == pytest.approx(8.52, abs=0.05)
    assert found[1].location == far


# ---- id tokens ---------------------------------------------------------------------------

async def test_id_tokens(repos: Repos) -> None:
    alice, bob = await _user(repos), await _user(repos)
    tag = uuid.uuid4().hex[:20]
    tok = await repos.id_tokens.add(alice, tag, IdTokenType.ISO14443)
    assert (tok.user_id, tok.id_token, tok.type, tok.status) == (
        alice, tag, IdTokenType.ISO14443, IdTokenStatus.ACCEPTED)
    assert await repos.id_tokens.find(tag, IdTokenType.ISO14443) == tok
    assert await repos.id_tokens.find(tag, IdTokenType.CENTRAL) is None
    with pytest.raises(e.IdTokenTaken):
        await repos.id_tokens.add(bob, tag, IdTokenType.ISO14443)
    other = await repos.id_tokens.add(bob, tag, IdTokenType.CENTRAL)  # other type: allowed
    assert [t.id for t in await repos.id_tokens.list_for_user(alice)] == [tok.id]
    assert await repos.id_tokens.set_status(tok.id, IdTokenStatus.BLOCKED)
    got = await repos.id_tokens.get(tok.id)
    assert got is not None
    assert got.status == IdTokenStatus.BLOCKED
    assert not await repos.id_tokens.remove(alice, other.id)  # not hers
    assert await repos.id_tokens.remove(bob, other.id)
    assert await repos.id_tokens.get(other.id) is None


# ---- refresh tokens ----------------------------------------------------------------------

def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def test_refresh_rotation_and_reuse_revokes_family(repos: Repos) -> None:
    uid = await _user(repos)
    n = uuid.uuid4().hex
    first = await repos.refresh.issue(uid, _h(n + "1"), T0, T0 + timedelta(days=14))
    second = await repos.refresh.rotate(_h(n + "1"), _h(n + "2"), T0 + timedelta(minutes=1),
                                        T0 + timedelta(days=15))
    assert (second.family_id, second.parent_id, second.user_id) == (first.family_id, first.id, uid)
    with pytest.raises(e.RefreshTokenReused) as info:
        await repos.refresh.rotate(_h(n + "1"), _h(n + "3"), T0 + timedelta(minutes=2),
                                   T0 + timedelta(days=15))
    assert info.value.family_id == first.family_id
    latest = await repos.refresh.get(_h(n + "2"))
    assert latest is not None
    assert latest.revoked_at is not None  # the whole family went with it
    with pytest.raises(e.RefreshTokenRevoked):
        await repos.refresh.rotate(_h(n + "2"), _h(n + "4"), T0 + timedelta(minutes=3),
                                   T0 + timedelta(days=15))
    assert await repos.refresh.get(_h(n + "3")) is None


async def test_refresh_unknown_expired_and_revocations(repos: Repos) -> None:
    uid = await _user(repos)
    n = uuid.uuid4().hex
    with pytest.raises(e.RefreshTokenUnknown):
        await repos.refresh.rotate(_h(n), _h(n + "x"), T0, T0 + timedelta(days=1))
    await repos.refresh.issue(uid, _h(n + "a"), T0, T0 + timedelta(hours=1))
    with pytest.raises(e.RefreshTokenExpired):
        await repos.refresh.rotate(_h(n + "a"), _h(n + "b"), T0 + timedelta(hours=2),
                                   T0 + timedelta(days=1))
    await repos.refresh.issue(uid, _h(n + "c"), T0, T0 + timedelta(days=1))
    assert await repos.refresh.revoke(_h(n + "c"), T0)
    assert not await repos.refresh.revoke(_h(n + "c"), T0)
    await repos.refresh.issue(uid, _h(n + "d"), T0, T0 + timedelta(days=1))
    await repos.refresh.issue(uid, _h(n + "e"), T0, T0 + timedelta(days=1))
    assert await repos.refresh.revoke_user(uid, T0, "password changed") == 3


# ---- transaction events ------------------------------------------------------------------

def _event(sid: str, txid: str, seq: int, kind: TxEventType) -> TransactionEventIn:
    return TransactionEventIn(station_id=sid, station_transaction_id=txid, seq_no=seq,
                              event_type=kind, occurred_at=T0 + timedelta(minutes=seq),
                              payload={"seqNo": seq, "eventType": kind.value})


def _decide(energy: int, *, ended: bool = False):  # type: ignore[no-untyped-def]
    def decide(current: Transaction | None) -> TxDecision:
        state = TransactionState(
            evse_id=1, connector_id=1, started_at=T0, meter_start_wh=1000,
            energy_wh=energy, cost_centavos=energy // 10,
            status=TxStatus.ENDED if ended else TxStatus.ACTIVE,
            ended_at=T0 + timedelta(hours=1) if ended else None,
            last_seq_no=0 if current is None else (current.last_seq_no or 0) + 1)
        mv = MeterValueIn(sampled_at=T0 + timedelta(seconds=energy), value=Decimal("1000.5"),
                          unit="Wh")
        return TxDecision(state=state, response={"totalCost": energy / 1000},
                          events=(OutboxMessage("transaction.updated", {"e": energy}),),
                          meter_values=(mv,))
    return decide


async def test_transaction_events_dedupe_and_state(repos: Repos) -> None:
    sid, txid = _sid(), uuid.uuid4().hex
    await repos.stations.register(NewStation(sid, 1, HASH))
    pending = await repos.outbox.pending_count()
    first = await repos.tx.record(_event(sid, txid, 0, TxEventType.STARTED), _decide(0))
    assert not first.duplicate
    assert first.transaction is not None
    assert first.response == {"totalCost": 0.0}
    second = await repos.tx.record(_event(sid, txid, 1, TxEventType.UPDATED), _decide(500))
    assert second.transaction is not None
    assert second.transaction.id == first.transaction.id
    assert (second.transaction.energy_wh, second.transaction.last_seq_no) == (500, 1)

    def must_not_run(current: Transaction | None) -> TxDecision:
        raise AssertionError("decide called for a duplicate")

    again = await repos.tx.record(_event(sid, txid, 1, TxEventType.UPDATED), must_not_run)
    assert again.duplicate
    assert again.response == {"totalCost": 0.5}
    assert again.transaction == second.transaction
    ended = await repos.tx.record(_event(sid, txid, 2, TxEventType.ENDED), _decide(900, ended=True))
    assert ended.transaction is not None
    assert ended.transaction.status == TxStatus.ENDED
    found = await repos.tx.find(sid, txid)
    assert found == ended.transaction
    assert await repos.tx.get(found.id) == found
    assert [ev.seq_no for ev in await repos.tx.events(sid, txid)] == [0, 1, 2]
    assert [ev.response for ev in await repos.tx.events(sid, txid)][1] == {"totalCost": 0.5}
    values = await repos.tx.meter_values(found.id)
    assert [(m.value, m.unit) for m in values] == [(Decimal("1000.5"), "Wh")] * 3
    assert await repos.outbox.pending_count() == pending + 3
    assert await repos.tx.find(sid, "other") is None


async def test_transaction_event_for_unknown_station(repos: Repos) -> None:
    with pytest.raises(e.UnknownStation):
        await repos.tx.record(_event("NOPE-" + uuid.uuid4().hex[:6], "t", 0,
                                     TxEventType.STARTED), _decide(0))


# ---- ledger ------------------------------------------------------------------------------

def _entry(src: str, *legs: tuple[uuid.UUID, int]) -> NewJournalEntry:
    return NewJournalEntry("test", src, tuple(PostingIn(a, m) for a, m in legs), description=src)


async def test_ledger_accounts_are_get_or_create(repos: Repos) -> None:
    uid = await _user(repos)
    wallet = await repos.ledger.account(AccountKind.USER_WALLET, uid)
    assert await repos.ledger.account(AccountKind.USER_WALLET, uid) == wallet
    assert not wallet.allow_negative
    clearing = await repos.ledger.account(AccountKind.PSP_CLEARING)
    assert clearing.allow_negative
    assert clearing.user_id is None
    assert await repos.ledger.account(AccountKind.PSP_CLEARING) == clearing
    with pytest.raises(ValueError, match="user"):
        await repos.ledger.account(AccountKind.USER_WALLET)


async def test_ledger_post_idempotent_balanced_no_overdraw(repos: Repos) -> None:
    uid = await _user(repos)
    wallet = (await repos.ledger.account(AccountKind.USER_WALLET, uid)).id
    clearing = (await repos.ledger.account(AccountKind.PSP_CLEARING)).id
    revenue = (await repos.ledger.account(AccountKind.PLATFORM_REVENUE)).id
    src = uuid.uuid4().hex
    topup = _entry("topup-" + src, (wallet, 5000), (clearing, -5000))
    first = await repos.ledger.post(topup, events=[OutboxMessage("wallet.credited", {"a": 1})])
    assert first.created
    replay = await repos.ledger.post(topup)
    assert not replay.created
    assert replay.entry.id == first.entry.id
    assert await repos.ledger.balance(wallet) == 5000
    with pytest.raises(e.JournalEntryConflict):
        await repos.ledger.post(_entry("topup-" + src, (wallet, 9000), (clearing, -9000)))
    with pytest.raises(e.UnbalancedEntry):
        await repos.ledger.post(_entry("bad-" + src, (wallet, 100), (clearing, -99)))
    with pytest.raises(e.UnbalancedEntry):
        await repos.ledger.post(_entry("one-" + src, (wallet, 0)))
    with pytest.raises(e.InsufficientFunds):
        await repos.ledger.post(_entry("big-" + src, (wallet, -5001), (revenue, 5001)))
    assert await repos.ledger.balance(wallet) == 5000
    assert await repos.ledger.entry_by_source("test", "big-" + src) is None
    await repos.ledger.post(_entry("charge-" + src, (wallet, -5000), (revenue, 5000)))
    assert await repos.ledger.balance(wallet) == 0
    receivable = (await repos.ledger.account(AccountKind.USER_RECEIVABLE, uid)).id
    await repos.ledger.post(_entry("short-" + src, (receivable, -700), (revenue, 700)))
    assert await repos.ledger.balance(receivable) == -700
    history = await repos.ledger.history(wallet)
    assert [(h.source_id, h.amount_centavos) for h in history] == [
        ("charge-" + src, -5000), ("topup-" + src, 5000)]
    stored = await repos.ledger.entry_by_source("test", "topup-" + src)
    assert stored is not None
    assert sorted(p.amount_centavos for p in stored.postings) == [-5000, 5000]
    with pytest.raises(e.UnknownAccount):
        await repos.ledger.post(_entry("x-" + src, (uuid.uuid4(), 1), (clearing, -1)))


# ---- audit -------------------------------------------------------------------------------

async def test_audit_log_records_and_filters(repos: Repos) -> None:
    target = uuid.uuid4().hex
    await repos.audit.record(AuditEntry("user", "station.create", "u1", "station", target,
                                        {"profile": 2}, "10.0.0.1", "req-1"))
    await repos.audit.record(AuditEntry("system", "station.boot", None, "station", target))
    await repos.audit.record(AuditEntry("system", "other", None, "user", "x"))
    got = await repos.audit.recent(10, target_type="station", target_id=target)
    assert [r.entry.action for r in got] == ["station.boot", "station.create"]
    assert got[1].entry.details == {"profile": 2}
    assert got[1].entry.ip == "10.0.0.1"
    assert got[0].id > got[1].id
