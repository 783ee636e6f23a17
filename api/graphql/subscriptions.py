"""GraphQL subscriptions (graphql-transport-ws), fed from NATS through the node's EventFeed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql.error import GraphQLError

from api.errors import NotFound
from api.graphql import types as t
from api.graphql.errors import coded
from api.graphql.queries import context
from api.live_feed import EventFeed
from api.services import need
from api.services import transactions as txs
from sigec_actors.domain.events import (
    OCPP_DEVICE_STATUS,
    TRANSACTION_COMPLETED,
    TRANSACTION_UPDATED,
)
from sigec_actors.domain.records import Role
from sigec_actors.errors import SigecError

TX_SUBJECTS = (TRANSACTION_UPDATED, TRANSACTION_COMPLETED)


def _fail(exc: SigecError) -> GraphQLError:
    return coded(GraphQLError(str(exc), original_error=exc))


def status_event(e: dict[str, Any]) -> t.StationStatusEvent:
    return t.StationStatusEvent(
        station_id=str(e["stationId"]), evse_id=int(e["evseId"]),
        connector_id=int(e["connectorId"]), status=str(e["status"]),
        previous=e.get("previous"), timestamp=str(e.get("timestamp", "")))


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def station_status(self, info: strawberry.Info, id: strawberry.ID,
                             ) -> AsyncGenerator[t.StationStatusEvent, None]:
        """Each StatusNotification of station `id` (any signed-in user, like GET /devices)."""
        gql = context(info)
        station_id = str(id)
        try:
            await gql.caller(Role.USER)
            if await need(gql.app.stations, "stations").get(station_id) is None:
                raise NotFound("station", station_id)
            feed: EventFeed = need(gql.feed, "live events")
        except SigecError as exc:
            raise _fail(exc) from None
        async with feed.listen((OCPP_DEVICE_STATUS,),
                               lambda e: e.get("stationId") == station_id) as listener:
            while True:
                event = await listener.next()
                try:
                    await gql.still_valid()
                except SigecError as exc:
                    raise _fail(exc) from None
                yield status_event(event)

    @strawberry.subscription
    async def transaction_updated(self, info: strawberry.Info, id: strawberry.ID,
                                  ) -> AsyncGenerator[t.Transaction, None]:
        """The session after each of its events (its owner; operators any); ends when it ends."""
        gql = context(info)
        try:
            caller = await gql.caller()
            tx = await txs.visible(gql.app, caller, str(id))
            feed: EventFeed = need(gql.feed, "live events")
        except SigecError as exc:
            raise _fail(exc) from None

        def mine(e: dict[str, Any]) -> bool:
            return (e.get("stationId") == tx.station_id
                    and e.get("transactionId") == tx.station_transaction_id)

        async with feed.listen(TX_SUBJECTS, mine) as listener:
            while True:
                event = await listener.next()
                try:
                    await gql.still_valid()
                    out = t.Transaction.of(await txs.one(gql.app, caller, str(id)))
                except SigecError as exc:
                    raise _fail(exc) from None
                yield out
                if event.get("status") == "Ended":
                    return
