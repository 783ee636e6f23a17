"""Per-request GraphQL context: the node's services, the caller's token and the data loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from strawberry.dataloader import DataLoader

from api.context import AppContext
from api.errors import Forbidden, Unauthenticated
from api.graphql.types import Connector
from api.live_feed import EventFeed
from api.routing import Principal, role_allows
from api.schemas.stations import ConnectorOut
from api.security import verify
from api.services import ApiServices, need
from sigec_actors.domain.records import Connector as ConnectorRecord
from sigec_actors.domain.records import Role
from sigec_actors.ports import StationRepository


@runtime_checkable
class ConnectorsMany(Protocol):
    """A station repository that reads many stations' connectors in one query."""

    async def connectors_many(self, station_ids: Sequence[str]
                              ) -> dict[str, list[ConnectorRecord]]: ...


async def _connectors(stations: StationRepository,
                      ids: list[str]) -> list[list[Connector]]:
    if isinstance(stations, ConnectorsMany):
        found = await stations.connectors_many(ids)
        rows = [found.get(i, []) for i in ids]
    else:  # one query per station; every repository of this code base has connectors_many
        rows = list(await asyncio.gather(*(stations.connectors(i) for i in ids)))
    return [[Connector.of(ConnectorOut.of(c)) for c in cs] for cs in rows]


@dataclass
class Loaders:
    """Batched loads of one request: a page of devices reads its connectors in one query."""

    connectors: DataLoader[str, list[Connector]]

    @classmethod
    def of(cls, ctx: AppContext) -> Loaders:
        async def connectors(ids: list[str]) -> list[list[Connector]]:
            return await _connectors(need(ctx.stations, "stations"), ids)
        return cls(connectors=DataLoader(load_fn=connectors))


@dataclass
class GraphQLContext:
    """What resolvers see as `info.context`."""

    app: AppContext
    services: ApiServices
    feed: EventFeed | None
    token: str | None = None
    ip: str | None = None  # the client address, audited with station commands
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init
    loaders: Loaders = field(init=False)
    _principal: Principal | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders.of(self.app)

    def bearer(self) -> str:
        """The token of the Authorization header, else of the connection_init payload."""
        if self.token:
            return self.token
        params = self.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization") or ""
        scheme, _, token = str(raw).partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise Unauthenticated("no bearer token")

    async def still_valid(self) -> None:
        """Verify the token again (a subscription outlives requests: a logout or an expiry
        ends it at its next event)."""
        self._principal = await verify(self.services, self.bearer(), Role.USER)

    async def caller(self, needed: Role = Role.USER) -> Principal:
        """The verified caller (once per request), whose role must allow `needed`."""
        if self._principal is None:
            self._principal = await verify(self.services, self.bearer(), Role.USER)
        if not role_allows(self._principal.role, needed):
            raise Forbidden(self._principal.role, needed)
        return self._principal
