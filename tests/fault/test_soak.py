"""A short soak in CI (`make soak` runs the long one): RSS, fds and DB connections stay flat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import Soak, markdown, run
from tests.fault.conftest import report

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]


async def test_short_soak_stays_flat(tmp_path: Path, database_server_url: str,
                                     nats_url: str) -> None:
    soak = Soak(duration_s=25, stations=100, interval_s=2.5, kill_every_s=10)
    rep = await run(soak, database_server_url, nats_url, tmp_path)
    report("soak", summary=rep["summary"], heartbeats=rep["heartbeats"],
           acked=rep["acked_transaction_events"], terminations=rep["pg_terminations"])
    assert rep["heartbeats"] > 0 and rep["acked_transaction_events"] > 0
    assert all(rep["flat"].values()), markdown(rep)
