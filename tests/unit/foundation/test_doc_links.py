"""The README and docs/ link only to files inside the repository (issue #14 item 15: the README
pointed at `../shared`, which a newcomer's clone does not have)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "bench").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#)", re.IGNORECASE)  # http:, mailto:, #anchor


def local_targets(page: Path) -> list[str]:
    """The relative link targets of a Markdown page (code blocks and anchors left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [m.group(1).split("#")[0] for m in LINK.finditer(text)
            if not EXTERNAL.match(m.group(1))]


def test_the_link_pattern_finds_what_a_reader_would_follow() -> None:
    text = ("see [a](docs/a.md), ![img](docs/x.png \"title\"), [b](<../shared/b.md>),"
            " [c](https://example.com), [d](#top), [e](docs/a.md#part)")
    found = [m.group(1) for m in LINK.finditer(text) if not EXTERNAL.match(m.group(1))]
    assert found == ["docs/a.md", "docs/x.png", "../shared/b.md", "docs/a.md#part"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_stays_inside_the_repository_and_exists(page: Path) -> None:
    outside, missing = [], []
    for target in local_targets(page):
        resolved = (page.parent / target).resolve()
        if not resolved.is_relative_to(ROOT):
            outside.append(target)
        elif not resolved.exists():
            missing.append(target)
    assert (outside, missing) == ([], []), page
