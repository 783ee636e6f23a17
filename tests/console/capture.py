"""Regenerate docs/console.svg and docs/console-snapshot.txt against the fake API (headless).

Run: .venv/bin/python -m tests.console.capture
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from sigec_actors.console import print_snapshot
from sigec_actors.console.app import ConsoleApp
from sigec_actors.console.client import ConsoleClient, Credentials
from tests.console.fake_server import EMAIL, PASSWORD, start_fake

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def _screenshot(url: str) -> str:
    async with ConsoleClient(url, Credentials(EMAIL, PASSWORD)) as client:
        app = ConsoleApp(client, refresh_s=60)
        async with app.run_test(size=(150, 30)) as pilot:
            app.sub_title = "http://127.0.0.1:8080"  # the fake's port is random
            while app.latest is None:
                await pilot.pause(0.05)
            await pilot.press(*["down"] * 4, "c", "enter", "y")  # CP-001: Reset (Immediate)
            while "Reset" not in app.message_text or "recent messages (" not in app.detail_text:
                await pilot.pause(0.05)
            return app.export_screenshot(title="sigec console")


async def main() -> None:
    fake, runner = await start_fake()
    fake.answers["reset"] = {"status": "Accepted"}
    try:
        svg = await _screenshot(fake.url)
        out = io.StringIO()
        await print_snapshot(fake.url, Credentials(EMAIL, PASSWORD), "", as_json=False, out=out)
    finally:
        await runner.cleanup()
    DOCS.mkdir(exist_ok=True)
    (DOCS / "console.svg").write_text(svg, encoding="utf-8")
    (DOCS / "console-snapshot.txt").write_text("$ sigec console --snapshot\n" + out.getvalue(),
                                               encoding="utf-8")
    print(f"wrote {DOCS / 'console.svg'} and {DOCS / 'console-snapshot.txt'}")


if __name__ == "__main__":
    asyncio.run(main())
