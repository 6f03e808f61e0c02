"""Issue 18 Part B item 5: the public page in a real browser (Chromium from Debian, driven by
Playwright): no console errors, nothing from another host, times in the reader's own zone
(two zones), the page without JavaScript, a phone's width, and an axe-style check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.support.browser import chromium, chromium_missing
from tests.support.console_bot import ConsoleBot as MeetingBot
from tests.support.page_bot import page_bot, page_url

pytestmark = pytest.mark.skipif(
    chromium_missing() is not None, reason=f"browser tests skipped: {chromium_missing()}"
)

FIRST = "2026-03-26T16:00:00Z"  # the first listed occurrence: 09:00 PDT
FIRST_TIME = f'ol.occurrences time[datetime="{FIRST}"]'

# The basics an axe run would flag first, as one script run in the page: lang, one h1,
# headings in order, landmarks, alt text, labels, link text, and AA contrast of every text.
AXE_BASICS = """() => {
  const problems = [];
  const lang = document.documentElement.getAttribute("lang");
  if (!lang || !lang.trim()) problems.push("html has no lang");
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) problems.push(`${h1s.length} h1 elements`);
  let level = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading ${h.tagName} after h${level}: ${h.textContent}`);
    level = next;
  }
  for (const landmark of ["header", "main", "footer"]) {
    if (document.querySelectorAll(landmark).length !== 1) problems.push(`no single ${landmark}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt: ${img.src}`);
  }
  for (const field of document.querySelectorAll("input, select, textarea")) {
    const labelled = field.labels && field.labels.length
      || field.getAttribute("aria-label") || field.getAttribute("aria-labelledby");
    if (!labelled && field.type !== "hidden") problems.push(`unlabelled ${field.tagName}`);
  }
  const vague = /^(here|click here|link|more|read more)$/i;
  for (const a of document.querySelectorAll("a")) {
    const text = a.textContent.trim();
    if (!text || vague.test(text)) problems.push(`link text "${text}" -> ${a.href}`);
  }
  for (const section of document.querySelectorAll("section")) {
    const by = section.getAttribute("aria-labelledby");
    if (!by || !document.getElementById(by)) problems.push("section without a heading label");
  }
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.display === "none" || el.getBoundingClientRect().left < -100) continue;
    const fg = lum(rgb(style.color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const what = el.textContent.trim().slice(0, 40);
    if (ratio < need) problems.push(`contrast ${ratio.toFixed(2)} < ${need}: ${what}`);
  }
  return problems;
}"""


@pytest.fixture
async def bot(sqlite_url: str) -> AsyncIterator[MeetingBot]:
    async with page_bot(sqlite_url) as running:
        assert "Saved" in await running.say(
            "/meeting recap community https://example.org/recording-feb", as_="maya"
        )
        yield running


async def test_loads_without_console_errors_or_other_hosts(bot: MeetingBot) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        requested: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        page.on("request", lambda r: requested.append(r.url))
        response = await page.goto(page_url(bot), wait_until="networkidle")
        assert response is not None and response.status == 200
        assert await page.title() == "Example Community"
        assert await page.locator("h1").inner_text() == "Example Community"
        # The stylesheet applied (CSP allows 'self') and the script ran.
        assert (
            await page.evaluate(
                "getComputedStyle(document.querySelector('header')).borderBottomStyle"
            )
            == "solid"
        )
        assert "your time zone" in await page.locator("#zone-note").inner_text()
    assert errors == []
    hosts = {urlsplit(url).hostname for url in requested}
    assert hosts == {"127.0.0.1"}, requested
    assert any(url.endswith("/static/page.css") for url in requested)
    assert any(url.endswith("/static/page.js") for url in requested)


@pytest.mark.parametrize(
    ("zone", "day", "clock"),
    [
        ("Asia/Tokyo", "Mar 27", "01:00"),  # 16:00 UTC is already the next day in Tokyo
        ("America/New_York", "Mar 26", "12:00"),
    ],
)
async def test_times_show_in_the_readers_zone(
    bot: MeetingBot, zone: str, day: str, clock: str
) -> None:
    async with chromium() as browser:
        context = await browser.new_context(timezone_id=zone, locale="en-US")
        page = await context.new_page()
        await page.goto(page_url(bot))
        shown = await page.locator(FIRST_TIME).first.inner_text()
        assert day in shown and clock in shown, shown
        assert "PDT" not in shown
        # The server's text stays as the tooltip.
        title = await page.locator(FIRST_TIME).first.get_attribute("title")
        assert title == "Thu 26 Mar 2026, 09:00 PDT (16:00 UTC)"
        assert zone in await page.locator("#zone-note").inner_text()


async def test_without_javascript_the_fallback_text_stays(bot: MeetingBot) -> None:
    async with chromium() as browser:
        context = await browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
        page = await context.new_page()
        await page.goto(page_url(bot))
        shown = await page.locator(FIRST_TIME).first.inner_text()
        assert shown == "Thu 26 Mar 2026, 09:00 PDT (16:00 UTC)"
        assert await page.locator("a", has_text="Join Community Meeting").count() >= 10


async def test_no_horizontal_scroll_at_a_phones_width(bot: MeetingBot) -> None:
    async with chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
        )
        page = await context.new_page()
        await page.goto(page_url(bot), wait_until="networkidle")
        widths = await page.evaluate(
            "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[2] and widths[1] <= widths[2], widths


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_style_basics(bot: MeetingBot, scheme: str) -> None:
    async with chromium() as browser:
        context = await browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(page_url(bot), wait_until="networkidle")
        assert await page.evaluate(AXE_BASICS) == []
        icon = await page.evaluate("document.querySelector('link[rel=icon]').href")
        assert urlsplit(icon).path == "/static/favicon.svg"


async def test_the_axe_style_check_finds_what_it_looks_for() -> None:
    # The check above must fail a page that breaks each rule, or its empty list proves nothing.
    bad = (
        "<html><body><header></header><main><h1>One</h1><h1>Two</h1><h3>Skipped</h3>"
        '<img src="data:,"><input type="text"><a href="/x">click here</a>'
        '<p style="color:#aaa">faint text</p><section><p>x</p></section></main>'
        "<footer></footer></body></html>"
    )
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_content(bad)
        problems = await page.evaluate(AXE_BASICS)
    found = " | ".join(problems)
    for expected in (
        "html has no lang",
        "2 h1 elements",
        "heading H3 after h1",
        "img without alt",
        "unlabelled INPUT",
        'link text "click here"',
        "contrast 2.",
        "section without a heading label",
    ):
        assert expected in found, (expected, problems)
