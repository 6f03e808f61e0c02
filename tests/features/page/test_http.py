"""Issue 18 Part B over real HTTP, on SQLite and PostgreSQL: GET / shows the public facts
and nothing else, leaves `public = false` meetings off the page and /calendar.ics, sends the
security and cache headers, and answers 404 with `[web] public_page = false`."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

import aiohttp
import pytest

from bot.app import load_settings
from bot.config import ConfigError
from tests.support.page_bot import NOW, page_bot, page_config, page_url

TIME_TAG = re.compile(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:00Z)" data-local>([^<]+)</time>')


async def _populate(bot) -> None:  # type: ignore[no-untyped-def]
    assert "Added" in await bot.say("/meeting agenda add community Secret agenda topic")
    assert "nominat" in (await bot.say("/hero nominate @ana a reason only reviewers read")).lower()
    announced = await bot.say("/hero announce @ana --yes", as_="maya")
    assert "ana" in announced
    assert "Saved" in await bot.say(
        "/meeting recap community https://example.org/recording-feb", as_="maya"
    )
    assert "Saved" in await bot.say(
        "/meeting recap steering https://example.org/steering-recording", as_="maya"
    )
    assert "/s/" in await bot.say("/survey")  # a personal tracked link exists now


async def _get(url: str, **headers: str) -> tuple[aiohttp.ClientResponse, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response, await response.text()


async def test_the_page_shows_the_public_facts_and_nothing_private(any_db_url: str) -> None:
    async with page_bot(any_db_url) as bot:
        await _populate(bot)
        response, html = await _get(page_url(bot))
        feed_response, feed = await _get(page_url(bot, "/calendar.ics"))

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in html
    assert html.count("<h1") == 1 and "<h1>Example Community</h1>" in html
    # At least ten next occurrences, each in UTC with the contract's fallback text.
    listed = html.split('<ol class="occurrences">')[1].split("</ol>")[0]
    times = TIME_TAG.findall(listed)
    assert len(times) >= 10
    assert times[0] == ("2026-03-26T16:00:00Z", "Thu 26 Mar 2026, 09:00 PDT (16:00 UTC)")
    assert [t for t, _ in times] == sorted(t for t, _ in times)
    assert '<a href="https://example.org/zoom">Join Community Meeting</a>' in html
    assert '<a href="https://example.org/register">Register for Community Meeting</a>' in html
    # The feed, for calendar apps and for Google Calendar.
    assert 'href="/calendar.ics"' in html
    assert 'href="webcal://community.example.org/calendar.ics"' in html
    assert (
        "https://calendar.google.com/calendar/render?action=TEMPLATE&amp;text=Community+Meeting"
        in html
    )
    assert "recur=RRULE%3AFREQ%3DMONTHLY%3BBYDAY%3D-1TH" in html
    assert "ctz=America%2FLos_Angeles" in html
    # The hall by display name; the open survey by its own address; the recording.
    assert re.search(r'<span class="name">ana</span>', html)
    assert '<a href="https://example.org/survey">Take the 2026 Community Survey</a>' in html
    assert "Recording of Community Meeting" in html and "https://example.org/recording-feb" in html
    # Open Graph: a pasted link unfurls with the next meeting.
    assert (
        '<meta property="og:description" content="Next meeting: Community Meeting — '
        'Thu 26 Mar 2026, 09:00 PDT (16:00 UTC)">'
    ) in html
    # Never: the private meeting, agenda items, nominations and their reasons, /s/ links.
    for hidden in (
        "Steering",
        "steering-room",
        "steering-recording",
        "Secret agenda topic",
        "a reason only reviewers read",
        "/s/",
        "nominat",
    ):
        assert hidden not in html, hidden
    assert feed_response.status == 200
    assert "Community Meeting" in feed and "Steering" not in feed and "steering-room" not in feed


async def test_security_and_cache_headers_and_304(any_db_url: str) -> None:
    async with page_bot(any_db_url) as bot:
        first, _ = await _get(page_url(bot))
        for name, value in {
            "Content-Security-Policy": "default-src 'self'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "public, max-age=60",
        }.items():
            assert first.headers[name] == value, name
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again, body = await _get(page_url(bot), **{"If-None-Match": etag})
        assert again.status == 304 and body == "" and again.headers["ETag"] == etag
        weak, _ = await _get(page_url(bot), **{"If-None-Match": f'"other", W/{etag}'})
        assert weak.status == 304
        since, _ = await _get(page_url(bot), **{"If-Modified-Since": modified})
        assert since.status == 304
        # A change to the meetings changes the page: a new tag and a newer Last-Modified.
        bot.clock.now = NOW + timedelta(minutes=5)
        assert "Skipped" in await bot.say("/meeting skip community 2026-03-26", as_="maya")
        changed, html = await _get(page_url(bot), **{"If-None-Match": etag})
        assert changed.status == 200 and changed.headers["ETag"] != etag
        assert changed.headers["Last-Modified"] == format_datetime(bot.clock.now, usegmt=True)
        assert "2026-03-26T16:00:00Z" not in html and "2026-04-30T16:00:00Z" in html
        stale, _ = await _get(page_url(bot), **{"If-Modified-Since": modified})
        assert stale.status == 200
        for path, kind in (
            ("/static/page.css", "text/css"),
            ("/static/page.js", "text/javascript"),
            ("/static/favicon.svg", "image/svg+xml"),
            ("/favicon.ico", "image/svg+xml"),
        ):
            response, _ = await _get(page_url(bot, path))
            assert response.status == 200, path
            assert response.headers["Content-Type"].startswith(kind)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        missing, _ = await _get(page_url(bot, "/static/other.css"))
        assert missing.status == 404


async def test_public_page_off_answers_404(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, page_config(web={"public_page": False})) as bot:
        for path in ("/", "/static/page.css", "/static/page.js"):
            response, _ = await _get(page_url(bot, path))
            assert response.status == 404, path
        feed, _ = await _get(page_url(bot, "/calendar.ics"))
        assert feed.status == 200  # only the page is turned off at the unprefixed address
        # The community's own address stands with its page: nothing there.
        for path in ("/c/default/", "/c/default/calendar.ics"):
            response, _ = await _get(page_url(bot, path))
            assert response.status == 404, path


async def test_names_are_escaped(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, page_config(meetings=[])) as bot:
        said = await bot.say(
            '/meeting create demo --name "<script>alert(1)</script> & co" '
            '--start "2026-03-10 10:00" --zone UTC',
            as_="maya",
        )
        assert "Created" in said or "created" in said, said
        _, html = await _get(page_url(bot))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script" not in html.replace('<script src="/static/page.js" defer></script>', "")


async def test_an_empty_community_has_a_page(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, {"community": {"name": "Quiet", "timezone": "UTC"}}) as bot:
        response, html = await _get(page_url(bot))
    assert response.status == 200
    for sentence in (
        "No meetings are coming up.",
        "No Community Hero has been announced yet.",
        "There are no open surveys right now.",
        "No recordings yet.",
    ):
        assert sentence in html


def test_page_files_ship_as_package_data_and_stay_small() -> None:
    # An installed (non-editable) package holds only what package-data names: every file
    # the page serves or renders must match one of its globs.
    root = Path(__file__).resolve().parents[3]
    with (root / "pyproject.toml").open("rb") as handle:
        globs = tomllib.load(handle)["tool"]["setuptools"]["package-data"]["bot.features.page"]
    folder = root / "bot" / "features" / "page"
    shipped = [
        path.relative_to(folder).as_posix()
        for sub in ("templates", "static")
        for path in (folder / sub).iterdir()
    ]
    assert {"templates/page.html.j2", "static/page.css", "static/page.js"} <= set(shipped)
    for name in shipped:
        assert any(fnmatch(name, pattern) for pattern in globs), name
    package = files("bot.features.page")
    static = sum(len(package.joinpath(n).read_bytes()) for n in shipped if n.startswith("static"))
    assert 0 < static < 50_000


def test_the_web_section_and_public_key_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[community]\nname = "X"\n\n[web]\npublic_page = "maybe"\nextra = 1\n\n'
        '[[meetings]]\nid = "m"\nname = "M"\nstart = "2026-01-29T09:00"\npublic = "perhaps"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), env={})
    text = "\n".join(info.value.problems)
    for key in ("web.public_page", "web.extra", "meetings.0.public"):
        assert key in text, text
    example = load_settings(
        str(Path(__file__).resolve().parents[3] / "config" / "example.toml"), env={}
    )
    assert example.file.section("web").public_page is True
    assert all(m.public for m in example.file.section("meetings"))


def _listed(html: str) -> list[tuple[str, str]]:
    """(name, UTC start) of each listed occurrence, in page order."""
    listed = html.split('<ol class="occurrences">')[1].split("</ol>")[0]
    return re.findall(
        r'<span class="name">([^<]+)</span>\s*<span class="when"><time datetime="([^"]+)"', listed
    )


async def test_meetings_merge_in_time_order_each_with_its_own_name(any_db_url: str) -> None:
    office = {
        "id": "office-hours",
        "name": "Office Hours",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "start": "2026-01-06T15:00",
        "timezone": "Europe/Berlin",
        "duration_minutes": 30,
        "join_url": "https://example.org/office",
    }
    config = page_config()
    config["meetings"].append(office)
    async with page_bot(any_db_url, config) as bot:
        _, html = await _get(page_url(bot))
    listed = _listed(html)
    assert len(listed) == 12
    assert [start for _, start in listed] == sorted(start for _, start in listed)
    assert listed[:4] == [
        ("Office Hours", "2026-03-03T14:00:00Z"),
        ("Office Hours", "2026-03-10T14:00:00Z"),
        ("Office Hours", "2026-03-17T14:00:00Z"),
        ("Office Hours", "2026-03-24T14:00:00Z"),
    ]
    assert ("Community Meeting", "2026-03-26T16:00:00Z") in listed
    assert ("Office Hours", "2026-03-31T13:00:00Z") in listed  # Berlin's summer time began


async def test_a_render_is_reused_briefly_but_never_past_an_occurrence_ending(
    sqlite_url: str,
) -> None:
    during = datetime(2026, 3, 26, 16, 59, 58, tzinfo=UTC)  # the meeting ends at 17:00
    async with page_bot(sqlite_url, now=during) as bot:
        _, html = await _get(page_url(bot))
        assert _listed(html)[0] == ("Community Meeting", "2026-03-26T16:00:00Z")
        # A recap saved now shows only once the reuse window (5 s) has passed...
        assert "Saved" in await bot.say(
            "/meeting recap community https://example.org/rec-jan", as_="maya"
        )
        _, same = await _get(page_url(bot))
        assert same == html
        # ...but the occurrence ending 2 s later drops it from the list at once.
        bot.clock.now = during + timedelta(seconds=3)
        _, after = await _get(page_url(bot))
        assert _listed(after)[0] == ("Community Meeting", "2026-04-30T16:00:00Z")
        assert "https://example.org/rec-jan" in after
