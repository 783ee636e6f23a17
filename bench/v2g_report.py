"""bench.v2g's markdown: the three windows side by side, then memory, starts, stops, checks."""

from __future__ import annotations

from typing import Any

LABELS = {"transactions": "{n} transactions, no sessions",
          "v2g": "{n} transactions, {n} V2G sessions",
          "stopped": "{n} transactions, the sessions stopped"}


def _row(p: dict[str, Any], n: int) -> str:
    lat = p["latency"]
    return (f"| {LABELS[p['phase']].format(n=f'{n:,}')} | {p['updates']:,} | {lat.get('p50_ms')} "
            f"| {lat.get('p99_ms')} | {lat.get('max_ms')} | {p['server_cpu_us_per_update']} "
            f"| {p['pg_cpu_us_per_update']} | {p['server_cpu_pct']} | {p['rss_mb']} "
            f"| {p.get('other_cpu_pct')} | {sum(p['errors'].values())} |")


def table(result: dict[str, Any]) -> str:
    """The markdown of one run (what each number is: bench/README.md)."""
    n = result["sessions"]
    c = result["cost"]
    rows = ["| window | updates | p50 ms | p99 ms | max ms | server CPU µs/update "
            "| PostgreSQL CPU µs/update | server CPU % | server RSS MB | others' CPU % "
            "| errors |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *(_row(p, n) for p in result["phases"]),
            f"| V2G / mean of the other two | | {c['p50_ratio']}x | {c['p99_ratio']}x | "
            f"| {c['server_cpu_ratio']}x | {c['pg_cpu_ratio']}x | | | | |"]
    return "\n".join([*rows, "", _summary(result)])


def _summary(result: dict[str, Any]) -> str:
    c, m, k = result["cost"], result["memory"], result["checks"]
    start, stop = result["starts"], result["stops"]
    return (
        f"Per V2G session: {c['server_cpu_us_per_update_added']:+} µs server CPU and "
        f"{c['pg_cpu_us_per_update_added']:+} µs PostgreSQL CPU per meter update; "
        f"server RSS per live session actor {m['kb_per_session_at_start']} KB right after the "
        f"starts, {m['kb_per_session']} KB at the end of its window; the node's RSS grew by "
        f"{', '.join(str(p.get('rss_growth_kb_per_update')) for p in result['phases'])} KB per "
        f"update in the three windows. Idle node (every "
        f"transaction open, no traffic): {result['idle_server_cpu_pct']} % CPU, counted in every "
        f"window. Starts: {start['statuses']} in {start['seconds']} s, REST p50 "
        f"{start['latency'].get('p50_ms')} / p99 {start['latency'].get('p99_ms')} ms. At the end "
        f"of the V2G window: {k['sessions']:,} sessions, PostgreSQL {k['db_status']}, actors "
        f"{k['actors']}, {k['sessions_all_samples']:,} with every answered update stored as a "
        f"sample ({k['samples_stored']:,} samples for {k['updates_answered']:,} updates), "
        f"{k['exported_wh']:,} Wh exported. Stops: {stop['statuses']} in {stop['seconds']} s "
        f"(p50 {stop['latency'].get('p50_ms')} / p99 {stop['latency'].get('p99_ms')} ms), "
        f"sessions {stop['db_status']}, compensations {stop['compensations']}.")


def section(result: dict[str, Any], command: str) -> str:
    """The block appended to bench/RESULTS.md."""
    m = result["machine"]
    return (f"## {m['date']} · commit `{m['commit']}` · V2G sessions (issue 15)\n\n"
            f"Machine: {m['nproc']} cores, {m['cpu']}, load average at start "
            f"{m['loadavg_at_start']}. Command: `{command}`. One inline node "
            f"(`SIGEC_WORKERS=0`) on the local PostgreSQL and NATS; {result['sessions']:,} "
            f"stations, each sending a TransactionEvent Updated (SoC, "
            f"Energy.Active.Export.Register, Power.Active.Export) every "
            f"{result['interval_s']:g} s, {result['updates_per_phase']} per station in each "
            f"window: without sessions, with one discharge session per transaction, then after "
            f"stopping them; {result['setup']}. Raw JSON: `bench/out/{result.get('json_name')}`."
            f"\n\n{table(result)}\n")
