"""Set-up steps shared by `serve` and the CLI: migrations, first admin, users, stations."""

from __future__ import annotations

from typing import Any

import structlog

from sigec_actors.adapters.migrate import MIGRATIONS_DIR, apply_migrations
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgUserRepository
from sigec_actors.bootstrap import Services
from sigec_actors.config import Settings
from sigec_actors.domain.records import NewStation, NewUser, Role
from sigec_actors.embedded import EmbeddedPostgres
from sigec_actors.errors import SigecError
from sigec_actors.logs import step
from sigec_actors.services.accounts import PasswordRules, WeakPassword, normalize_email
from sigec_actors.services.passwords import Passwords, generate_password
from sigec_actors.services.stations import validate_identity, validate_station_password

log = structlog.get_logger("setup")


async def migrate(services: Services) -> list[str]:
    """Apply pending migrations (advisory-locked, so several nodes may race safely)."""
    assert services.pool is not None
    with step(log, "migrations_applied") as info:
        applied = await apply_migrations(services.pool, MIGRATIONS_DIR)
        info["applied"] = applied
    return applied


async def ensure_first_admin(settings: Settings, services: Services) -> dict[str, Any] | None:
    """With no users at all, create the admin; return what the banner should show, else None."""
    assert services.pool is not None
    users = PgUserRepository(services.pool)
    if await users.count() > 0:
        return None
    email, password = _account(settings, settings.auth.admin_email, "Administrator",
                               settings.auth.admin_password or None, "auth.admin_password")
    generated = not settings.auth.admin_password
    with step(log, "first_admin_created", email=email):
        password_hash = await Passwords(settings.auth.hash_concurrency).hash(password)
        await users.create(NewUser(name="Administrator", email=email,
                                   password_hash=password_hash, role=Role.ADMIN))
    return {"email": email, "password": password if generated else None}


def _account(settings: Settings, email: str, name: str, password: str | None,
             source: str) -> tuple[str, str]:
    """The normalized email and the password (generated when None) of a new account.

    A given password must pass the same rules as a self-registered one; a refusal is a
    SigecError naming where the password came from (`source`) and why.
    """
    address = normalize_email(email)
    if password is None:
        return address, generate_password()
    try:
        PasswordRules(settings.auth.min_password_score).check(password, (address, name))
    except WeakPassword as exc:
        hints = " ".join(exc.suggestions)
        raise SigecError(f"{source}: {exc}" + (f" ({hints})" if hints else "")) from None
    return address, password


class _Db:
    """The database a CLI command works on: DATABASE_URL or the data dir's embedded one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedded: EmbeddedPostgres | None = None

    async def __aenter__(self) -> Services:
        url = self.settings.database.url
        if not url:
            self.embedded = EmbeddedPostgres(self.settings.data_dir / "pg")
            url = self.embedded.start()
        self.services = Services(settings=self.settings, database_url=url,
                                 pool=await create_pool(url, 1, 2))
        await migrate(self.services)
        return self.services

    async def __aexit__(self, *exc: object) -> None:
        if self.services.pool is not None:
            await self.services.pool.close()
        if self.embedded is not None:
            self.embedded.stop()


async def migrate_command(settings: Settings) -> int:
    """`sigec migrate`."""
    async with _Db(settings):
        pass
    return 0


async def user_add_command(settings: Settings, email: str, role: str, name: str,
                           password: str | None) -> int:
    """`sigec user add`: prints the generated password when none was given."""
    generated = password is None
    name = name or email.split("@", 1)[0]
    email, password = _account(settings, email, name, password, "password")
    password_hash = Passwords(1).hash_sync(password)
    async with _Db(settings) as services:
        assert services.pool is not None
        user = await PgUserRepository(services.pool).create(NewUser(
            name=name, email=email, password_hash=password_hash, role=Role(role)))
    print(f"user {user.email} created (id {user.id}, role {user.role})")
    if generated:
        print(f"password: {password}")
    return 0


async def station_add_command(settings: Settings, station_id: str, profile: int,
                              password: str | None, vendor: str | None,
                              model: str | None) -> int:
    """`sigec station add`: profiles 1 and 2 need a password (generated when none is given)."""
    validate_identity(station_id)
    needs_password = profile in (1, 2)
    generated = needs_password and password is None
    if generated:
        password = generate_password()
    if password is not None:
        validate_station_password(password)
    password_hash = Passwords(1).hash_sync(password) if password else None
    async with _Db(settings) as services:
        assert services.pool is not None
        await PgStationRepository(services.pool).register(NewStation(
            id=station_id, security_profile=profile, password_hash=password_hash,
            vendor=vendor, model=model))
    print(f"station {station_id} registered (security profile {profile})")
    if generated:
        print(f"password: {password}")
    return 0


