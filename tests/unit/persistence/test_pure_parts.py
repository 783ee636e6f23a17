"""Pure parts of the persistence layer: subjects, streams, ledger rules, token rules, cache clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.memory_bus import subject_matches
from sigec_actors.adapters.memory_cache import MemoryCache
from sigec_actors.domain import events
from sigec_actors.domain.errors import (
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
    RefreshTokenUnknown,
    UnbalancedEntry,
)
from sigec_actors.domain.ledger import NewJournalEntry, PostingIn, check_balanced, same_postings
from sigec_actors.domain.records import RefreshToken
from sigec_actors.domain.rules import rotation_failure


def test_every_documented_subject_has_a_stream() -> None:
    subjects = [v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)]
    assert len(subjects) == 27  # 25 + payment.disputed and voice.command.processed
    for subject in subjects:
        assert events.stream_for(subject) is not None, subject
    assert events.stream_for("sigec.cp.X.cmd") is None
    assert events.stream_for("wallet.credited") == "SIGEC_WALLET"


@pytest.mark.parametrize(("pattern", "subject", "hit"), [
    ("a.b", "a.b", True), ("a.*", "a.b", True), ("a.*", "a.b.c", False),
    ("a.>", "a.b.c", True), ("a.>", "a", False), ("*.b", "x.b", True), ("a.b", "a.c", False),
])
def test_subject_matching(pattern: str, subject: str, hit: bool) -> None:
    assert subject_matches(pattern, subject) is hit


def test_check_balanced() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    check_balanced(NewJournalEntry("s", "1", (PostingIn(a, 5), PostingIn(b, -5))))
    for legs in [(PostingIn(a, 5), PostingIn(b, -4)), (PostingIn(a, 0), PostingIn(b, 0)),
                 (PostingIn(a, 0),), ()]:
        with pytest.raises(UnbalancedEntry):
            check_balanced(NewJournalEntry("s", "1", legs))
    assert same_postings((PostingIn(a, 5), PostingIn(b, -5)), (PostingIn(b, -5), PostingIn(a, 5)))
    assert not same_postings((PostingIn(a, 5), PostingIn(b, -5)), (PostingIn(a, 6),))


def test_rotation_failure_rules() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    tok = RefreshToken(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), None, b"h" * 32, t0,
                       t0 + timedelta(hours=1))
    assert rotation_failure(tok, t0) is None
    assert isinstance(rotation_failure(None, t0), RefreshTokenUnknown)
    assert isinstance(rotation_failure(tok, t0 + timedelta(hours=1)), RefreshTokenExpired)
    from msgspec.structs import replace
    assert isinstance(rotation_failure(replace(tok, rotated_at=t0), t0), RefreshTokenReused)
    assert isinstance(rotation_failure(replace(tok, revoked_at=t0, rotated_at=t0), t0),
                      RefreshTokenRevoked)


async def test_memory_cache_with_injected_clock() -> None:
    now = [100.0]
    cache = MemoryCache(clock=lambda: now[0], max_entries=4)
    await cache.set("a", b"1", ttl_s=10)
    await cache.deny("j", ttl_s=5)
    assert await cache.hit("r", window_s=60) == 1
    now[0] += 6
    assert await cache.get("a") == b"1"
    assert not await cache.is_denied("j")
    assert await cache.hit("r", window_s=60) == 2
    now[0] += 60
    assert await cache.get("a") is None
    assert await cache.hit("r", window_s=60) == 1
    for i in range(10):  # bounded: expired entries are swept when full
        await cache.set(f"k{i}", b"x", ttl_s=0.5)
        now[0] += 1
    assert len(cache._values) <= 5
