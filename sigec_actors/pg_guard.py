"""Who holds the embedded PostgreSQL, and the guard that stops it when its last holder dies."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HOLDERS = ".handle_pids.json"
"""pgserver's list of the pids using a data dir (the last one to leave stops the server)."""


def pid_alive(pid: int) -> bool:
    """True when `pid` runs and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def postmaster_alive(pgdata: Path) -> bool:
    """True when postmaster.pid names a running postgres process."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return False
    return name == "postgres" and pid_alive(pid)


@contextlib.contextmanager
def holders_lock(lock_path: Path) -> Iterator[None]:
    """pgserver's inter-process lock (fasteners uses lockf on the same file)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def prune_holders(pgdata: Path, drop: int = 0) -> list[int]:
    """Remove `drop` and every dead pid from the holders (call under holders_lock); return the
    holders left. A holder killed by SIGKILL never removed itself: without this its pid would
    keep the server running forever, as nobody would ever be the last one out."""
    path = pgdata / HOLDERS
    try:
        pids = [int(pid) for pid in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    left = [pid for pid in pids if pid != drop and pid_alive(pid)]
    if left != pids:
        path.write_text(json.dumps(left))
    return left


def release(pgdata: Path, holder: int, lock_path: Path, pg_ctl: str, user: str | None) -> bool:
    """`holder` is gone: drop it; stop the server if nobody else holds it. True if stopped."""
    with holders_lock(lock_path):
        path = pgdata / HOLDERS
        with contextlib.suppress(OSError, ValueError, TypeError):
            if holder not in json.loads(path.read_text()):
                return False  # it released the server itself
        if prune_holders(pgdata, drop=holder) or not postmaster_alive(pgdata):
            return False
        subprocess.run(  # noqa: S603 -- pgserver's pg_ctl, fixed arguments
            [pg_ctl, "-D", str(pgdata), "-m", "fast", "-w", "-t", "30", "stop"],
            check=False, stdin=subprocess.DEVNULL, user=user, timeout=40)
        return True


def main(argv: list[str]) -> int:
    """`python -m sigec_actors.pg_guard PGDATA HOLDER_PID LOCK PG_CTL [USER]`: wait until the
    holder closes our stdin (it released the server, or it died, even by SIGKILL), then
    release its hold."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for the holder, not for us
    pgdata, holder, lock_path, pg_ctl = Path(argv[0]), int(argv[1]), Path(argv[2]), argv[3]
    user = argv[4] if len(argv) > 4 else None
    sys.stdin.buffer.read()
    release(pgdata, holder, lock_path, pg_ctl, user)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
