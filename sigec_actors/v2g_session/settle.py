"""Settling a finished discharge: metered hourly export x hourly price, paid once to the wallet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.alerts.ports import Alerts
from sigec_actors.domain.events import (
    V2G_COMPENSATION_CALCULATED,
    V2G_COMPENSATION_FAILED,
    V2G_COMPENSATION_PAID,
    WALLET_CREDITED,
    WALLET_DEBITED,
)
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import LedgerRepository
from sigec_actors.v2g.pricing import (
    HOUR,
    Compensation,
    GridPrices,
    PriceGap,
    RetailPolicy,
    Submarket,
    compensate,
    split_by_hour,
)
from sigec_actors.v2g_session.pay_store import CompensationRow, PgCompensations
from sigec_actors.v2g_session.ports import CompensationOutcome, SessionStore
from sigec_actors.v2g_session.state import V2GState

SOURCE_TYPE = "v2g_compensation"
"""Journal source type of a payout; the source id is the session id (posted at most once)."""
PRICE_GAP_ALERT = "v2g.price_gap"


class Settlement:
    """Settler: compute (once), then pay (once): each step is idempotent, so a retry, a
    restarted actor or a concurrent settle of the same session never pays twice."""

    def __init__(self, sessions: SessionStore, rows: PgCompensations, prices: GridPrices,
                 ledger: LedgerRepository, policy: RetailPolicy, *,
                 default_submarket: Submarket, clock: Callable[[], datetime],
                 alerts: Alerts | None = None) -> None:
        self._sessions = sessions
        self._rows = rows
        self._prices = prices
        self._ledger = ledger
        self._policy = policy
        self._default = default_submarket
        self._clock = clock
        self._alerts = alerts

    async def settle(self, state: V2GState) -> CompensationOutcome:
        row = await self._rows.get(state.session_id)
        if row is None:
            await self._calculate(state)
            row = await self._rows.get(state.session_id)
            assert row is not None, "a compensation row was just stored"
        if row.status == "calculated":
            return await self._pay(row)
        return CompensationOutcome(row.status, row.net_amount_centavos, row.journal_entry_id)

    async def reprice(self, state: V2GState) -> CompensationOutcome:
        """Settle a compensation that failed on a price gap, now that its hours may be priced.

        The prices are read again and, when every hour with export has one, the row moves
        `failed -> calculated` by a compare-and-set (with `v2g.compensation.calculated` and the
        price-gap alert resolved, in one DB transaction), then is paid as `settle` pays: of
        several nodes repricing at once one moves it and all pay through the one journal key.
        Still missing hours: it stays `failed` (the hours are updated, no event, no new alert)
        and the outcome names them. A session not failed is settled as usual."""
        row = await self._rows.get(state.session_id)
        if row is None or row.status != "failed":
            return await self.settle(state)
        comp, _submarket = await self._compute(state)
        if isinstance(comp, PriceGap):
            await self._rows.still_missing(state.session_id, comp.missing)
            return CompensationOutcome("failed", missing_hours=tuple(comp.missing))
        payload = {**_calculated_payload(state, comp), "repriced": True}
        await self._rows.repriced(state, comp, self._policy.margin_bp,
                                  [OutboxMessage(V2G_COMPENSATION_CALCULATED, payload)],
                                  resolve_alert=gap_alert_key(state))
        return await self.settle(state)

    async def _compute(self, state: V2GState) -> tuple[Compensation | PriceGap, Submarket]:
        """The compensation from the stored samples and prices (or the price gap), and the
        submarket whose prices were used."""
        by_hour = split_by_hour(await self._sessions.samples(state.session_id))
        submarket = await self._rows.submarket(state.station_id) or self._default
        hours = sorted(by_hour)
        prices = [] if not hours else await self._prices.hours(
            submarket, hours[0], hours[-1] + HOUR)
        try:
            return compensate(by_hour, {p.hour_start: p for p in prices},
                              self._policy), submarket
        except PriceGap as gap:
            return gap, submarket

    async def _calculate(self, state: V2GState) -> None:
        comp, submarket = await self._compute(state)
        if isinstance(comp, PriceGap):
            await self._failed(state, comp, submarket)
            return
        await self._rows.calculated(
            state, comp, self._policy.margin_bp,
            [OutboxMessage(V2G_COMPENSATION_CALCULATED, _calculated_payload(state, comp))])

    async def _failed(self, state: V2GState, gap: PriceGap, submarket: Submarket) -> None:
        missing = [h.isoformat() for h in gap.missing]
        payload = {**_base(state), "reason": "price_gap", "missingHours": missing}
        stored = await self._rows.failed(state, gap.missing, str(gap),
                                         [OutboxMessage(V2G_COMPENSATION_FAILED, payload)])
        if stored and self._alerts is not None:
            await self._alerts.open(NewAlert(
                severity=Severity.WARNING, kind=PRICE_GAP_ALERT,
                message=f"v2g session {state.session_id}: no grid price for "
                        f"{len(missing)} hour(s) with export ({submarket})",
                charge_point_id=state.station_id,
                details={"sessionId": str(state.session_id), "missingHours": missing,
                         "submarket": submarket.value},
                dedupe_key=gap_alert_key(state)))

    async def _pay(self, row: CompensationRow) -> CompensationOutcome:
        net = row.net_amount_centavos
        if net == 0:  # nothing to post (a posting cannot be 0): paid as is
            await self._rows.paid(row.session_id, None, self._clock())
            return CompensationOutcome("paid", 0, None)
        payable = await self._ledger.account(AccountKind.V2G_PAYABLE)
        wallet = await self._ledger.account(AccountKind.USER_WALLET, row.user_id)
        paid = {"sessionId": str(row.session_id), "userId": str(row.user_id),
                "netCentavos": net}
        result = await self._ledger.post(NewJournalEntry(
            SOURCE_TYPE, str(row.session_id),
            (PostingIn(payable.id, -net), PostingIn(wallet.id, net)),
            description=f"V2G discharge {row.energy_discharged_wh} Wh",
            metadata={"grossCentavos": row.gross_amount_centavos,
                      "marginCentavos": row.margin_centavos}),
            events=[OutboxMessage(V2G_COMPENSATION_PAID, paid), OutboxMessage(
                WALLET_CREDITED if net > 0 else WALLET_DEBITED,
                {"userId": str(row.user_id), "amountCentavos": abs(net),
                 "source": f"{SOURCE_TYPE}/{row.session_id}"})])
        await self._rows.paid(row.session_id, result.entry.id, self._clock())
        return CompensationOutcome("paid", net, result.entry.id)


def gap_alert_key(state: V2GState) -> str:
    """The dedupe key of a session's price-gap alert (one open alert per session)."""
    return f"{PRICE_GAP_ALERT}:{state.session_id}"


def _calculated_payload(state: V2GState, comp: Compensation) -> dict[str, Any]:
    return {**_base(state), "grossCentavos": comp.gross_centavos,
            "marginCentavos": comp.margin_centavos, "netCentavos": comp.net_centavos,
            "exportedWh": comp.export_wh, "policyVersion": comp.policy_version}


def _base(state: V2GState) -> dict[str, Any]:
    return {"sessionId": str(state.session_id), "userId": str(state.user_id),
            "chargePointId": state.station_id}
