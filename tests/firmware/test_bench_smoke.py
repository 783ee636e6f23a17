"""bench.firmware's in-process part runs (a tiny smoke; the campaign itself is `make bench`)."""

from __future__ import annotations

from bench.firmware import actors


async def test_the_job_actor_memory_bench_runs() -> None:
    result = await actors(50)
    assert result["accepted"] == 50  # every actor loaded its row and had its update accepted
    assert result["bytes_per_job_actor"] > 0
