"""Runtime tests capture structlog output: fast (no traceback rendering) and assertable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs


@pytest.fixture(autouse=True)
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every log event of the test as a dict (event, level, bound fields)."""
    with capture_logs() as captured:
        yield captured
