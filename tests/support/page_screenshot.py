"""The README's screenshot of the public page, taken with the browser tests' setup.

.venv/bin/python -m tests.support.page_screenshot [docs/img/public-page.png]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.support.browser import chromium
from tests.support.page_bot import page_bot, page_config, page_url

OFFICE_HOURS = {
    "id": "office-hours",
    "name": "Contributor Office Hours",
    "description": "Bring a question about your first pull request.",
    "rrule": "FREQ=WEEKLY;BYDAY=TU",
    "start": "2026-01-06T15:00",
    "timezone": "Europe/Berlin",
    "duration_minutes": 45,
    "join_url": "https://example.org/office-hours",
}


async def main(out: Path) -> None:
    config = page_config()
    config["meetings"][0]["description"] = "Project updates, demos and your questions."
    config["meetings"].append(OFFICE_HOURS)
    with tempfile.TemporaryDirectory() as tmp:
        async with page_bot(f"sqlite+aiosqlite:///{tmp}/bot.db", config) as bot:
            await bot.say("/hero nominate @ana for the new contributor guide")
            await bot.say("/hero announce @ana --cycle 2026-01 --yes", as_="maya")
            await bot.say("/hero nominate @lin for the meetup in Berlin")
            await bot.say("/hero announce @lin --yes", as_="maya")
            await bot.say("/meeting recap community https://example.org/recordings/feb", as_="maya")
            async with chromium() as browser:
                context = await browser.new_context(
                    viewport={"width": 820, "height": 900}, timezone_id="Europe/Berlin"
                )
                page = await context.new_page()
                await page.goto(page_url(bot), wait_until="networkidle")
                await page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/public-page.png")))
