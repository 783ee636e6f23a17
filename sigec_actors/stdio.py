"""stdout/stderr that survive a closed pipe (`sigec serve | head -3`, `make run | tee` + Ctrl-C)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any, TextIO

_GONE = (BrokenPipeError, ConnectionResetError)


class PipeSafeStream:
    """Wraps a text stream: once a write or flush finds the reader gone, the file descriptor is
    pointed at /dev/null and every later write (ours, a forked child's, the interpreter's final
    flush) succeeds without output, so start-up and shutdown are never cut short by a print."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.diverted = False

    def write(self, text: str) -> int:
        if not self.diverted:
            try:
                return self._stream.write(text)
            except _GONE:
                self._divert()
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
                self._divert()
        return len(text)

    def flush(self) -> None:
        if self.diverted:
            return
        try:
            self._stream.flush()
        except _GONE:
            self._divert()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._divert()

    def _divert(self) -> None:
        self.diverted = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # what was buffered now goes to /dev/null

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_standard_streams() -> None:
    """Replace sys.stdout and sys.stderr by PipeSafeStreams (once; before logging is set up and
    before anything forks, so structlog and the forked thespian processes use them too)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, PipeSafeStream):
            setattr(sys, name, PipeSafeStream(stream))
