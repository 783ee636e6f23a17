"""The sigec CLI: help everywhere, user add, station add, migrate, one-line errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgUserRepository
from sigec_actors.cli import build_parser
from sigec_actors.services.passwords import Passwords

SIGEC = str(Path(sys.executable).parent / "sigec")


def _run(args: list[str], dsn: str, tmp_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGEC_")}
    env.update(DATABASE_URL=dsn, SIGEC_DATA_DIR=str(tmp_path), SIGEC_LOG__LEVEL="warning")
    return subprocess.run([SIGEC, *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("argv", [[], ["serve"], ["migrate"], ["user"], ["user", "add"],
                                  ["station"], ["station", "add"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*argv, "--help"])
    assert info.value.code == 0
    assert "usage: sigec" in capsys.readouterr().out


def test_migrate_then_user_add(pg_dsn: str, tmp_path: Path) -> None:
    assert _run(["migrate"], pg_dsn, tmp_path).returncode == 0
    done = _run(["user", "add", "op@example.com", "--role", "operator", "--name", "Op",
                 "--password-stdin"], pg_dsn, tmp_path, stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert "op@example.com" in done.stdout and "password:" not in done.stdout
    user = asyncio.run(_user(pg_dsn, "op@example.com"))
    assert user is not None and user.role == "operator" and user.name == "Op"
    assert Passwords(1).verify_sync(user.password_hash, "correct horse battery")
    again = _run(["user", "add", "OP@example.com", "--password-stdin"], pg_dsn, tmp_path,
                 stdin="another password\n")
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr


def test_user_add_generates_password(pg_dsn: str, tmp_path: Path) -> None:
    done = _run(["user", "add", "gen@example.com"], pg_dsn, tmp_path)
    assert done.returncode == 0, done.stderr
    password = done.stdout.split("password:")[1].strip()
    user = asyncio.run(_user(pg_dsn, "gen@example.com"))
    assert user is not None and Passwords(1).verify_sync(user.password_hash, password)


def test_station_add_profiles(pg_dsn: str, tmp_path: Path) -> None:
    done = _run(["station", "add", "CP-CLI-1", "--vendor", "ACME", "--model", "X1"], pg_dsn, tmp_path)
    assert done.returncode == 0, done.stderr
    password = done.stdout.split("password:")[1].strip()
    assert 16 <= len(password) <= 40
    open_station = _run(["station", "add", "CP-CLI-0", "--security-profile", "0"], pg_dsn, tmp_path)
    assert open_station.returncode == 0 and "password" not in open_station.stdout
    creds = asyncio.run(_creds(pg_dsn, "CP-CLI-1"))
    assert creds is not None and creds.security_profile == 1
    assert creds.password_hash and Passwords(1).verify_sync(creds.password_hash, password)
    assert asyncio.run(_creds(pg_dsn, "CP-CLI-0")).password_hash is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("argv", "stdin", "fragment"), [
    (["station", "add", "bad:id"], None, "must not contain ':'"),
    (["station", "add", "x" * 49], None, "1-48 characters"),
    (["station", "add", "CP-SHORT", "--password-stdin"], "short\n", "16-40"),
])
def test_station_add_rejects_bad_input(pg_dsn: str, tmp_path: Path, argv: list[str],
                                       stdin: str | None, fragment: str) -> None:
    done = _run(argv, pg_dsn, tmp_path, stdin=stdin)
    assert done.returncode == 2
    assert fragment in done.stderr and done.stderr.count("\n") == 1


def test_station_add_twice_is_a_clear_error(pg_dsn: str, tmp_path: Path) -> None:
    assert _run(["station", "add", "CP-TWICE", "--security-profile", "0"], pg_dsn, tmp_path).returncode == 0
    again = _run(["station", "add", "CP-TWICE", "--security-profile", "0"], pg_dsn, tmp_path)
    assert again.returncode == 2 and "CP-TWICE" in again.stderr


async def _user(dsn: str, email: str):  # type: ignore[no-untyped-def]
    pool = await create_pool(dsn, 1, 1)
    try:
        return await PgUserRepository(pool).get_by_email(email)
    finally:
        await pool.close()


async def _creds(dsn: str, station_id: str):  # type: ignore[no-untyped-def]
    pool = await create_pool(dsn, 1, 1)
    try:
        return await PgStationRepository(pool).credentials(station_id)
    finally:
        await pool.close()


@pytest.mark.parametrize(("stdin", "email", "fragment"), [
    (" " * 10 + "\n", "weak1@example.com", "password must not be only whitespace"),
    ("Password123!\n", "weak2@example.com", "password is too weak"),
    ("correct horse battery\n", "\uff41na@example.com", "email contains compatibility"),
])
def test_user_add_refuses_weak_passwords_and_look_alike_emails(
        pg_dsn: str, tmp_path: Path, stdin: str, email: str, fragment: str) -> None:
    done = _run(["user", "add", email, "--password-stdin"], pg_dsn, tmp_path, stdin=stdin)
    assert done.returncode == 2, done.stdout
    assert fragment in done.stderr and done.stderr.count("\n") == 1


async def test_first_admin_with_a_weak_configured_password_is_refused(
        fresh_pg_dsn: str, tmp_path: Path) -> None:
    from sigec_actors.bootstrap import Services
    from sigec_actors.config import load_settings
    from sigec_actors.errors import SigecError
    from sigec_actors.setup import ensure_first_admin, migrate

    settings = load_settings({}, overrides={"auth.admin_password": "admin12345",
                                            "server.data_dir": str(tmp_path)})
    pool = await create_pool(fresh_pg_dsn, 1, 2)
    try:
        services = Services(settings=settings, database_url=fresh_pg_dsn, pool=pool)
        await migrate(services)
        with pytest.raises(SigecError, match=r"auth.admin_password: password is too weak"):
            await ensure_first_admin(settings, services)
        assert await PgUserRepository(pool).count() == 0
    finally:
        await pool.close()
