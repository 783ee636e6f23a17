"""The REST app over a transactions World (in-memory ports), signed-in principals seeded."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.context import AppContext
from api.routes import id_tokens
from api.routes.id_tokens import TransactionPorts
from api.testing import FakeActors, FakeCommander, FakeLiveStations, actor_tree
from sigec_actors.config import load_settings
from sigec_actors.domain.records import NewUser
from sigec_actors.testing import (
    InMemoryAuditLog,
    InMemoryRefreshTokens,
    InMemoryStations,
    InMemoryUsers,
    MemoryCache,
)
from tests.api.harness import (
    PASSWORDS,
    PRINCIPALS,
    ROLES,
    SECRET,
    Api,
    Clock,
    password_hash,
    seed_stations,
)
from tests.transactions.builders import World


async def start_tx_api(w: World, clock: Clock, commander: FakeCommander,
                       extras: dict[str, Any] | None = None) -> Api:
    """Serve the app with `w`'s transaction ports (plus `extras`); close it with `close()`."""
    users, stations = InMemoryUsers(), InMemoryStations()
    ctx = AppContext(
        settings=load_settings({}), users=users, stations=stations,
        refresh_tokens=InMemoryRefreshTokens(), audit=InMemoryAuditLog(), cache=MemoryCache(),
        passwords=PASSWORDS, jwt_secret=SECRET, clock=clock, commander=commander,
        live=FakeLiveStations(), actors=FakeActors(actor_tree()))
    ctx.extras[id_tokens.EXTRAS_KEY] = TransactionPorts(
        id_tokens=w.tokens, queries=w.queries, store=w.store, ledger=w.ledger,
        authorizer=w.authorizer)
    ctx.extras.update(extras or {})
    client = TestClient(TestServer(create_app(ctx)))
    await client.start_server()
    a = Api(client, ctx, clock, commander, ctx.audit)
    await seed_stations(stations)
    for name in PRINCIPALS:
        user = await users.create(NewUser(name, f"{name}@example.com", password_hash(),
                                          ROLES[name]))
        a.ids[name] = str(user.id)
        a.tokens[name] = a.token_for(str(user.id), user.role)
    return a
