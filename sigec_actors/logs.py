"""structlog set-up: JSON in production, human-readable on a terminal; timed start-up steps."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO,
           "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog once for the process; `fmt` is auto, json or console."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (structlog.processors.JSONRenderer() if use_json
                     else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        # one write per line, so lines of several node processes never interleave
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


@contextmanager
def step(log: Any, name: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Log one start-up step with its duration; callers may add fields to the yielded dict."""
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    yield extra
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(name, elapsed_ms=elapsed_ms, **fields, **extra)
