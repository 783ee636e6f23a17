"""The connection guard's policy (pure): per-address and total caps, address keys, fd budget."""

from __future__ import annotations

from sigec_actors.http_guard import ConnectionGuard, client_key, http_connection_cap


def test_per_address_and_total_caps() -> None:
    guard = ConnectionGuard(max_total=4, max_per_ip=2)
    assert [guard.admit("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert guard.admit("10.0.0.2") and guard.admit("10.0.0.3")
    assert not guard.admit("10.0.0.4")  # 4 open in total
    guard.release("10.0.0.1")
    assert guard.held("10.0.0.1") == 1 and guard.total == 3
    assert guard.admit("10.0.0.4")
    assert guard.refused == 2
    for key in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"):
        guard.release(key)
    assert guard.total == 0 and guard.held("10.0.0.1") == 0


def test_zero_means_no_limit() -> None:
    guard = ConnectionGuard()
    assert all(guard.admit("10.0.0.1") for _ in range(10_000))


def test_clients_are_counted_by_ipv4_address_or_ipv6_64() -> None:
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key("") == ""


def test_the_rest_cap_stays_within_the_fd_budget() -> None:
    assert http_connection_cap(4096, 1024) == 256
    assert http_connection_cap(100, 1_048_576) == 100
    assert http_connection_cap(0, 65_536) == 16_384
    assert http_connection_cap(4096, 20) == 16  # a floor, however low the limit
