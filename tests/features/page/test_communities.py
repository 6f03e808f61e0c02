"""Issue 19 item 5 (page and feed) and item 7 (the listing) over real HTTP: with several
communities each has its page at /c/<key>/ and its feed at /c/<key>/calendar.ics, showing only
its own meetings, Heroes, surveys and recordings even where the communities use the same
meeting id, survey name and member id; a community whose page is off is 404 everywhere and
left out of the listing at /."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform
from bot.core.plaintext import render
from tests.support.console_bot import ConsoleBot
from tests.support.page_bot import page_bot, page_url

GUILD = {"alpha": 920000000000000001, "beta": 920000000000000002, "gamma": 920000000000000003}
MAINTAINER_ROLE = 555
HERO = {"alpha": "Ada", "beta": "Bea", "gamma": "Gus"}


def _community(key: str, **more: Any) -> dict[str, Any]:
    """A community whose meeting and survey have the same id and name as the others'."""
    return {
        "key": key,
        "name": f"{key.title()} Community",
        "timezone": "UTC",
        "discord": {"guild_ids": [GUILD[key]], "maintainer_roles": [MAINTAINER_ROLE]},
        "meetings": [
            {
                "id": "sync",
                "name": f"{key.title()} Sync",
                "start": "2026-01-05T09:00",
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "timezone": "UTC",
                "join_url": f"https://example.org/{key}-room",
            }
        ],
        "surveys": [
            {"name": "Community Survey", "url": f"https://example.org/{key}-survey"},
        ],
        **more,
    }


CONFIG: dict[str, Any] = {
    "communities": [
        _community("alpha"),
        _community("beta"),
        _community("gamma", web={"public_page": False}),
    ]
}


async def _as_maintainer(bot: ConsoleBot, key: str, head: str, **options: Any) -> str:
    group, _, sub = head.partition(" ")
    reply = await bot.app.dispatcher.handle(
        Invocation(
            group,
            Actor(Platform.DISCORD, "700", "maya", roles=frozenset({str(MAINTAINER_ROLE)})),
            Place(Platform.DISCORD, "1", str(GUILD[key])),
            path=tuple(sub.split()),
            options=options,
        )
    )
    assert reply.outcome == "ok", (key, head, reply)
    return render(reply.message)


async def _populate(bot: ConsoleBot) -> None:
    """The same member id is each community's Hero, under a different name; each records
    its own recording of its own `sync`."""
    for key in GUILD:
        await _as_maintainer(
            bot,
            key,
            "hero announce",
            member=MemberRef(Platform.DISCORD, "701", HERO[key]),
            yes=True,
        )
        await _as_maintainer(
            bot, key, "meeting recap", meeting="sync", url=f"https://example.org/{key}-recording"
        )


async def _get(
    http: aiohttp.ClientSession, bot: ConsoleBot, path: str, **headers: str
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.get(page_url(bot, path), headers=headers) as response:
        return response.status, await response.text(), response


def _facts(key: str) -> list[str]:
    return [
        f"<h1>{key.title()} Community</h1>",
        f"{key.title()} Sync",
        f"https://example.org/{key}-room",
        f'<span class="name">{HERO[key]}</span>',
        f"https://example.org/{key}-survey",
        f"https://example.org/{key}-recording",
    ]


async def test_each_community_has_its_own_page_and_feed(any_db_url: str) -> None:
    async with page_bot(any_db_url, CONFIG) as bot, aiohttp.ClientSession() as http:
        await _populate(bot)
        for key, other in (("alpha", "beta"), ("beta", "alpha")):
            status, html, response = await _get(http, bot, f"/c/{key}/")
            assert status == 200, html
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Content-Security-Policy"] == "default-src 'self'"
            for fact in _facts(key):
                assert fact in html, (key, fact)
            for fact in _facts(other) + _facts("gamma"):
                assert fact not in html, (key, fact)
            # Its links lead to its own feed.
            assert f'href="/c/{key}/calendar.ics"' in html
            assert f'href="webcal://community.example.org/c/{key}/calendar.ics"' in html
            assert 'href="/calendar.ics"' not in html
            assert f'content="https://community.example.org/c/{key}/"' in html

            status, feed, _ = await _get(http, bot, f"/c/{key}/calendar.ics")
            assert status == 200
            assert f"SUMMARY:{key.title()} Sync" in feed
            assert f"{other.title()} Sync" not in feed and "Gamma Sync" not in feed

            # Without the slash, the page is one redirect away.
            async with http.get(page_url(bot, f"/c/{key}")) as response:
                assert response.status == 200 and response.url.path == f"/c/{key}/"


async def test_a_private_community_is_404_and_not_listed(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, CONFIG) as bot, aiohttp.ClientSession() as http:
        await _populate(bot)
        for path in ("/c/gamma/", "/c/gamma", "/c/gamma/calendar.ics", "/c/nobody/"):
            status, body, _ = await _get(http, bot, path)
            assert status == 404, path
            assert "Gamma" not in body and "Gus" not in body
        status, html, response = await _get(http, bot, "/")
    assert status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in html and html.count("<h1") == 1
    assert '<a href="/c/alpha/">Alpha Community</a>' in html
    assert '<a href="/c/beta/">Beta Community</a>' in html
    assert "gamma" not in html.lower()
    # Only names and links: nothing of any community's meetings or people.
    assert "Sync" not in html and "Ada" not in html


async def test_the_listing_has_its_own_etag_and_the_shared_feed_is_gone(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, CONFIG) as bot, aiohttp.ClientSession() as http:
        status, _, response = await _get(http, bot, "/")
        etag = response.headers["ETag"]
        again, _, _ = await _get(http, bot, "/", **{"If-None-Match": etag})
        assert (status, again) == (200, 304)
        _, _, alpha = await _get(http, bot, "/c/alpha/")
        _, _, beta = await _get(http, bot, "/c/beta/")
        assert alpha.headers["ETag"] != beta.headers["ETag"]
        cached, _, _ = await _get(
            http, bot, "/c/alpha/", **{"If-None-Match": alpha.headers["ETag"]}
        )
        assert cached == 304
        # The stylesheet the listing and pages use is served; the unprefixed feed is not.
        assert (await _get(http, bot, "/static/page.css"))[0] == 200
        status, text, _ = await _get(http, bot, "/calendar.ics")
        assert status == 404 and "/c/<key>/calendar.ics" in text


async def test_the_feed_command_names_the_communitys_own_feed(sqlite_url: str) -> None:
    async with page_bot(sqlite_url, CONFIG) as bot:
        # The console is the first community's.
        said = await bot.say("/meeting ics")
        assert "https://community.example.org/c/alpha/calendar.ics" in said
        beta = await _as_maintainer(bot, "beta", "meeting ics")
        assert "https://community.example.org/c/beta/calendar.ics" in beta
        gamma = await _as_maintainer(bot, "gamma", "meeting ics")
    assert gamma == (
        "This community does not publish its calendar feed: it is served once its public "
        "page is turned on."
    )


async def test_one_community_keeps_its_addresses_and_also_answers_at_its_key(
    sqlite_url: str,
) -> None:
    async with page_bot(sqlite_url) as bot, aiohttp.ClientSession() as http:
        status, html, _ = await _get(http, bot, "/")
        assert status == 200 and 'href="/calendar.ics"' in html
        status, keyed, _ = await _get(http, bot, "/c/default/")
        assert status == 200 and 'href="/c/default/calendar.ics"' in keyed
        assert "<h1>Example Community</h1>" in keyed
        assert "https://community.example.org/calendar.ics" in await bot.say("/meeting ics")
