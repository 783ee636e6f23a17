"""Building the charge point side of a node from settings and adapters (for node.py)."""

from __future__ import annotations

from sigec_actors.charge_point.events import EventPublisher, LastSeenBatcher
from sigec_actors.charge_point.model import Policy
from sigec_actors.charge_point.ports import Authorizer, ChargePointDeps, UnknownTokens
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.charge_point.transactions import StoreTransactionEvents
from sigec_actors.config import OcppConfig
from sigec_actors.node_tree import NodeTree
from sigec_actors.ports import AuditLog, EventBus, StationRepository, TransactionEventStore
from sigec_actors.runtime import Clock


def policy_from(ocpp: OcppConfig) -> Policy:
    """The pure core's policy from the `[ocpp]` settings."""
    return Policy(heartbeat_interval_s=ocpp.heartbeat_interval_s,
                  call_timeout_s=ocpp.call_timeout_s,
                  command_queue_size=ocpp.command_queue_size,
                  auto_register=ocpp.auto_register)


def station_sessions(tree: NodeTree, ocpp: OcppConfig, *, stations: StationRepository,
                     transaction_events: TransactionEventStore, audit: AuditLog,
                     bus: EventBus, clock: Clock, authorizer: Authorizer | None = None,
                     last_seen_interval_s: float = 60.0) -> StationSessions:
    """StationSessions for the node's charge-points supervisor (pass it to the gateway).

    `authorizer` defaults to "every token Unknown" until the transactions issue plugs the
    real one; TransactionEvents are stored idempotently and acknowledged.
    """
    auth = authorizer or UnknownTokens()
    deps = ChargePointDeps(
        policy=policy_from(ocpp), stations=stations,
        transactions=StoreTransactionEvents(transaction_events, auth), authorizer=auth,
        audit=audit, events=EventPublisher(bus),
        last_seen=LastSeenBatcher(stations, clock, last_seen_interval_s))
    return StationSessions(tree.charge_points, deps)
