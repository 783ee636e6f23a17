"""Passwords: new accounts hash through a lane of their own, so logins keep an argon2 slot."""

from __future__ import annotations

import asyncio

import pytest

from sigec_actors.services.passwords import HashingBusy, Passwords
from tests.helpers.gated_hasher import GatedHasher

GUARD_S = 20.0  # a hang guard only: the login below never waits for a gated hash


async def test_a_login_verifies_while_a_registration_flood_waits() -> None:
    gated = GatedHasher()
    passwords = Passwords(2, registration_slots=1, registration_queue=50, hasher=gated)
    stored = gated._real.hash("the right password")
    flood = [asyncio.create_task(passwords.hash_new_account(f"password {i}")) for i in range(20)]
    try:
        await gated.until_hashing(1)
        # 20 registrations in flight, one of them hashing: the login takes the other slot
        ok = await asyncio.wait_for(passwords.verify(stored, "the right password"), GUARD_S)
        assert ok is True and gated.hashing == 1
        assert not any(task.done() for task in flood)
    finally:
        gated.open()
        hashes = await asyncio.gather(*flood)
    assert len(set(hashes)) == 20 and gated.most_hashing == 1


async def test_a_full_registration_queue_is_refused_at_once() -> None:
    gated = GatedHasher()
    passwords = Passwords(2, registration_slots=1, registration_queue=2, hasher=gated)
    admitted = [asyncio.create_task(passwords.hash_new_account(f"pw {i}")) for i in range(3)]
    try:
        await gated.until_hashing(1)
        vetted: list[str] = []
        with pytest.raises(HashingBusy) as busy:
            await asyncio.wait_for(passwords.hash_new_account("one too many", vetted.append),
                                   GUARD_S)
        assert busy.value.waiting == 2 and busy.value.retry_after_s > 0
        assert vetted == []  # refused before its strength check costs any CPU
    finally:
        gated.open()
        await asyncio.gather(*admitted)
    assert await passwords.hash_new_account("room again")  # the queue drained


@pytest.mark.parametrize(("slots", "asked", "lane"), [(1, 1, 1), (2, 5, 1), (4, 2, 2), (4, 9, 3)])
def test_the_lane_never_takes_every_slot(slots: int, asked: int, lane: int) -> None:
    assert Passwords(slots, registration_slots=asked).registration_slots == lane
