"""GraphQL queries: each resolver checks the caller like the REST route and calls its service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from api.errors import NotFound
from api.graphql import types as t
from api.graphql.inputs import PageInfo, parse, window
from api.routes.reservations import ReservationOut, reservation_ports
from api.routes.v2g_prices import PriceQuery, current_price
from api.schemas.alerts import AlertOut, AlertQuery, StatusFilter
from api.schemas.auth import UserOut
from api.schemas.stations import DeviceQuery
from api.schemas.transactions import AdminQuery
from api.services import need
from api.services import transactions as txs
from api.services import v2g as sessions
from api.services import wallet as wallets
from sigec_actors.domain.records import Role
from sigec_actors.transactions.ports import TxFilter


def context(info: strawberry.Info) -> Any:
    """The GraphQLContext (api.graphql.context) of the running operation."""
    return info.context


@strawberry.enum
class DeviceStatusFilter(Enum):
    ONLINE = "online"
    OFFLINE = "offline"


@strawberry.enum
class TransactionStatus(Enum):
    ACTIVE = "Active"
    ENDED = "Ended"


@strawberry.input
class TransactionFilter:
    status: TransactionStatus | None = None
    charge_point_id: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")


@strawberry.enum
class AlertStatusFilter(Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALL = "all"


def selects(fields: Sequence[Any], name: str) -> bool:
    """Whether `name` is selected anywhere below `fields` (fragments included)."""
    return any(getattr(f, "name", None) == name or selects(getattr(f, "selections", ()), name)
               for f in fields)


async def devices(info: strawberry.Info, first: int = 50, after: str | None = None,
                  status: DeviceStatusFilter | None = None) -> t.DeviceConnection:
    """Devices, a page at a time (any signed-in user, like GET /devices)."""
    gql = context(info)
    await gql.caller(Role.USER)
    limit, offset = window(first, after)
    query = parse(DeviceQuery, {"limit": limit, "offset": offset,
                                "status": status.value if status else None})
    page = await gql.services.devices.page(query)
    nodes = [t.Device.of(d) for d in page.items]
    if selects(info.selected_fields, "connectors"):  # one query for the page's connectors
        found = await gql.loaders.connectors.load_many([str(d.id) for d in nodes])
        for node, connectors in zip(nodes, found, strict=True):
            node.known_connectors = connectors
    return t.DeviceConnection(nodes=nodes,
                              total_count=page.total,
                              page_info=PageInfo.of(offset, len(page.items), page.total))


async def device(info: strawberry.Info, id: strawberry.ID) -> t.Device:
    """One device with its connectors merged with the live view (GET /devices/{id})."""
    gql = context(info)
    await gql.caller(Role.USER)
    return t.Device.detail(await gql.services.devices.detail(str(id)))


async def transactions(info: strawberry.Info, first: int = 50, after: str | None = None,
                       filter: TransactionFilter | None = None,
                       ) -> t.TransactionConnection:
    """The caller's sessions, newest first; operators see everyone's."""
    gql = context(info)
    caller = await gql.caller(Role.USER)
    limit, offset = window(first, after)
    f = filter or TransactionFilter()
    q = parse(AdminQuery, {"limit": limit, "offset": offset, "stationId": f.charge_point_id,
                           "status": f.status.value if f.status else None,
                           "from": f.since, "to": f.until})
    where = txs.mine_or_all(caller, TxFilter(station_id=q.station_id, status=q.status,
                                             since=q.since, until=q.until))
    page = await txs.page(gql.app, where, limit, offset)
    return t.TransactionConnection(nodes=[t.Transaction.of(x) for x in page.items],
                                   total_count=page.total,
                                   page_info=PageInfo.of(offset, len(page.items), page.total))


async def transaction(info: strawberry.Info, id: strawberry.ID) -> t.Transaction:
    gql = context(info)
    return t.Transaction.of(await txs.one(gql.app, await gql.caller(), str(id)))


async def me(info: strawberry.Info) -> t.Me:
    gql = context(info)
    caller = await gql.caller()
    user = await need(gql.app.users, "users").get(UUID(caller.sub))
    if user is None:
        raise NotFound("user", caller.sub)
    return t.copy(t.Me, UserOut.of(user), role=str(user.role), status=str(user.status))


async def wallet(info: strawberry.Info) -> t.Wallet:
    gql = context(info)
    return t.copy(t.Wallet, await wallets.balance(gql.app, await gql.caller()))


async def v2g_session(info: strawberry.Info, id: strawberry.ID) -> t.V2GSession:
    """One discharge session (its owner; operators see all)."""
    gql = context(info)
    caller = await gql.caller()
    try:
        session_id = UUID(str(id))
    except ValueError:
        raise NotFound("v2g session", str(id)) from None
    return t.V2GSession.of(await sessions.visible(gql.app, caller, session_id))


async def live_v2g_session(info: strawberry.Info, charge_point_id: str) -> t.V2GSession:
    """The live discharge on a station, if the caller may see it."""
    gql = context(info)
    return t.V2GSession.of(await sessions.live_on(gql.app, await gql.caller(), charge_point_id))


async def grid_price(info: strawberry.Info, submarket: str | None = None,
                     charge_point_id: str | None = None) -> t.GridPrice:
    """The current hour's grid price (submarket, else the station's, else the default)."""
    gql = context(info)
    await gql.caller()
    q = parse(PriceQuery, {"submarket": submarket, "chargePointId": charge_point_id})
    price = await current_price(gql.app, q)
    return t.copy(t.GridPrice, price, submarket=str(price.submarket))


async def alerts(info: strawberry.Info, first: int = 50, after: str | None = None,
                 status: AlertStatusFilter = AlertStatusFilter.OPEN) -> t.AlertConnection:
    """Operator alerts, newest first (operators and admins only)."""
    gql = context(info)
    await gql.caller(Role.OPERATOR)
    limit, offset = window(first, after)
    q = AlertQuery(status=StatusFilter(status.value), limit=limit, offset=offset)
    page = await need(gql.app.alerts, "alerts").page(q.where(), q.limit, q.offset)
    return t.AlertConnection(nodes=[t.Alert.of(AlertOut.of(a)) for a in page.items],
                             total_count=page.total,
                             page_info=PageInfo.of(offset, len(page.items), page.total))


async def reservations(info: strawberry.Info, first: int = 50,
                       after: str | None = None) -> list[t.Reservation]:
    """The caller's reservations, newest first (GET /reservations)."""
    gql = context(info)
    caller = await gql.caller()
    limit, offset = window(first, after)
    rows = await reservation_ports(gql.app).repo.for_user(UUID(caller.sub), limit, offset)
    return [t.Reservation.of(ReservationOut.of(r)) for r in rows]


@strawberry.type
class Query:
    me: t.Me = strawberry.field(resolver=me)
    devices: t.DeviceConnection = strawberry.field(resolver=devices)
    device: t.Device = strawberry.field(resolver=device)
    transactions: t.TransactionConnection = strawberry.field(resolver=transactions)
    transaction: t.Transaction = strawberry.field(resolver=transaction)
    wallet: t.Wallet = strawberry.field(resolver=wallet)
    v2g_session: t.V2GSession = strawberry.field(resolver=v2g_session, name="v2gSession")
    live_v2g_session: t.V2GSession = strawberry.field(resolver=live_v2g_session,
                                                      name="liveV2gSession")
    grid_price: t.GridPrice = strawberry.field(resolver=grid_price)
    alerts: t.AlertConnection = strawberry.field(resolver=alerts)
    reservations: list[t.Reservation] = strawberry.field(resolver=reservations)
