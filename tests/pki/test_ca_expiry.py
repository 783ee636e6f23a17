"""Our own CAs warn before they expire: the renewal job opens a `ca_expiring` alert
`pki.renew_before_days` ahead (one per CA and episode), since a CPO sub-CA 2 past its end
refuses every SECC CSR (NoV2GSubCA) and a station-issuing CA past its end every station CSR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import hashes

from sigec_actors.alerts.model import AlertFilter, AlertStatus, Severity
from sigec_actors.config import load_settings
from sigec_actors.pki.ca import FileCa, Level, ensure_chain, name
from sigec_actors.pki.renewal import Renewal
from sigec_actors.pki.wiring import PkiWiring
from sigec_actors.testing.alerts import InMemoryAlerts
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable


async def _never_sent(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
    raise AssertionError("not sent")


def _chain(directory: Path, sub_days: int) -> FileCa:
    return ensure_chain(directory, [Level("root", name("Short Root"), 3650),
                                    Level("sub2", name("Short CPO Sub-CA 2"), sub_days)])


async def _expiring(alerts: InMemoryAlerts) -> list[str]:
    page = await alerts.page(AlertFilter(status=None, kind="ca_expiring"))
    return [f"{a.details['subject']}:{a.severity}:{a.status}" for a in reversed(page.items)]


async def test_a_short_lived_ca_opens_one_alert_per_episode(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    clock = [now]
    ca = _chain(tmp_path / "short", 10)
    alerts = InMemoryAlerts()
    job = Renewal(InMemoryCertificates(), _never_sent, lambda: clock[0], renew_before_days=30,
                  alerts=alerts, own_cas=[("V2G chain", ca.chain)])
    await job.run_once()
    [alert] = alerts.alerts
    assert alert.kind == "ca_expiring" and alert.charge_point_id is None
    assert alert.dedupe_key == f"ca_expiring:{ca.issuer.fingerprint(hashes.SHA256()).hex()}"
    assert alert.details["validTo"] == ca.issuer.not_valid_after_utc.isoformat()
    await job.run_once()  # still open: the same alert, no second one
    assert await _expiring(alerts) == ["CN=Short CPO Sub-CA 2:warning:open"]

    # resolved but not renewed: not reopened within the day, reopened after it
    await alerts.resolve(alert.id)
    clock[0] = now + timedelta(hours=12)
    await job.run_once()
    assert await _expiring(alerts) == ["CN=Short CPO Sub-CA 2:warning:resolved"]
    clock[0] = now + timedelta(days=11)  # past its end by now
    await job.run_once()
    assert await _expiring(alerts) == ["CN=Short CPO Sub-CA 2:warning:resolved",
                                       "CN=Short CPO Sub-CA 2:critical:open"]


async def test_a_ca_far_from_its_end_opens_nothing(tmp_path: Path) -> None:
    ca = _chain(tmp_path / "long", 365)
    alerts = InMemoryAlerts()
    job = Renewal(InMemoryCertificates(), _never_sent, lambda: datetime.now(UTC),
                  renew_before_days=30, alerts=alerts, own_cas=[("V2G chain", ca.chain)])
    assert await job.check_own_cas(datetime.now(UTC)) == []
    await job.run_once()
    assert alerts.alerts == []


async def test_the_node_watches_cpo_sub_ca_2_and_the_station_ca(tmp_path: Path) -> None:
    """The wiring hands the renewal job our chains: 340 days on, CPO sub-CA 2 (one year) is
    within pki.renew_before_days (30) and alerts; nothing else does yet."""
    clock = [datetime.now(UTC)]
    settings = load_settings(env={}, overrides={"server.data_dir": str(tmp_path)})
    alerts = InMemoryAlerts()
    pki = PkiWiring(settings, InMemoryCertificates(), TokenTable({}), lambda: _never_sent,
                    alerts=alerts, now=lambda: clock[0])
    await pki.renewal.run_once()
    assert alerts.alerts == []
    clock[0] += timedelta(days=340)
    await pki.renewal.run_once()
    assert [(a.details["chain"], a.severity) for a in alerts.alerts] == [
        ("V2G chain", Severity.WARNING)]
    assert alerts.alerts[0].details["subject"] == pki.v2g.ca.issuer.subject.rfc4514_string()
    assert alerts.alerts[0].status is AlertStatus.OPEN
    clock[0] += timedelta(days=3650 - 340)  # ten years on: the station-issuing CA too
    await pki.renewal.run_once()
    subjects = {a.details["subject"] for a in alerts.alerts}
    assert pki.ca.issuer.subject.rfc4514_string() in subjects
