"""Slack OAuth installs, end to end: a browser through bolt's install flow against the Slack fake,
then commands, Home tabs and scheduled messages each with their own workspace's token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.install_flow import NOT_INSTALLED
from bot.adapters.slack.manifest import BOT_SCOPES
from bot.app import App
from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.scheduling.deliveries import NOTICE_KIND
from bot.scheduling.queue import Planned, enqueue
from bot.store.models import Delivery, DeliveryState, Member
from bot.store.slack_installs import bots, installations, oauth_states
from tests.conftest import make_settings
from tests.fakes import slack_signing
from tests.fakes.slack_api import SlackFake

ALPHA, BETA, NEW = "TALPHA001", "TBETA0001", "TNEWCOMER"
TWO: dict[str, Any] = {
    "communities": [
        {
            "key": "alpha",
            "name": "Alpha",
            "slack": {"team_ids": [ALPHA], "maintainers": ["UALPHAADM"]},
        },
        {"key": "beta", "name": "Beta", "slack": {"team_ids": [BETA]}},
    ]
}


@dataclass
class Bot:
    app: App
    adapter: SlackAdapter
    base: str  # http://127.0.0.1:<port>

    @property
    def events(self) -> str:
        return f"{self.base}/slack/events"

    def community_id(self, key: str) -> int:
        assert self.app.services.communities is not None
        community = self.app.services.communities.by_key(key)
        assert community is not None
        return community.id


@asynccontextmanager
async def oauth_bot(
    db_url: str, fake: SlackFake, config: Mapping[str, Any] = TWO
) -> AsyncIterator[Bot]:
    settings = make_settings(
        db_url,
        config,
        slack_client_id=fake.oauth.client_id,
        slack_client_secret=fake.oauth.client_secret,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        http_port=0,
    )
    app = App(settings, timer=False)
    await app.start()
    adapter = app.adapters[Platform.SLACK]
    assert isinstance(adapter, SlackAdapter)
    base = f"http://127.0.0.1:{app.http_port}"
    # Slack's app settings: the redirect URL the manifest names.
    fake.oauth.redirect_url = f"{base}/slack/oauth_redirect"
    try:
        yield Bot(app, adapter, base)
    finally:
        await app.stop()


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake() as f:
        yield f


@asynccontextmanager
async def browser(bot: Bot) -> AsyncIterator[aiohttp.ClientSession]:
    """An installer's browser: it keeps cookies, and treats the bot's origin as secure as
    browsers treat localhost (bolt's state cookie is Secure)."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[bot.base])
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session


async def install(
    bot: Bot, fake: SlackFake, team: str, *, name: str = "", user: str = "UINSTALLR"
) -> tuple[int, str]:
    """Install the app in `team` the way a person does: /slack/install, Slack's authorize
    page, back to /slack/oauth_redirect. Returns the last page's status and text."""
    fake.oauth.approve_as(team, name or f"Team {team}", user)
    async with browser(bot) as session, session.get(f"{bot.base}/slack/install") as page:
        return page.status, await page.text()


async def token_of(fake: SlackFake, team: str) -> str:
    [token] = fake.oauth.tokens_of(team)
    return token


async def open_home(bot: Bot, fake: SlackFake, team: str, user: str) -> None:
    event = slack_signing.app_home_opened_event(user)
    sent = await fake.send_event(bot.events, event, team_id=team)
    assert sent.http is not None and sent.http.status == 200, sent.http
    await fake.wait_for(lambda: user in fake.home_views, what=f"the Home tab of {user}")


async def notice(bot: Bot, key: str, channel: str, text: str, due_in: timedelta) -> None:
    """A scheduled message for community `key` (the generic maintainer-notice kind)."""
    now = bot.app.clock()
    async with bot.app.db.session() as session:
        target = Target.channel(Platform.SLACK, channel)
        planned = Planned(NOTICE_KIND, text, "1", target, now + due_in, {"text": text})
        await enqueue(session, bot.community_id(key), [planned], now)


async def delivery(bot: Bot, text: str) -> Delivery:
    async with bot.app.db.sessions() as session:
        row = await session.scalar(select(Delivery).where(Delivery.subject == text))
    assert row is not None
    return row


# --------------------------------------------------------------------------- installing


async def test_the_start_up_check_names_a_workspace_without_the_app(
    sqlite_url: str, fake: SlackFake
) -> None:
    config = {
        "communities": [
            {"key": "alpha", "slack": {"team_ids": [ALPHA], "announce_channels": ["CALPHA001"]}}
        ]
    }
    async with oauth_bot(sqlite_url, fake, config) as bot:
        [warning] = bot.app.channel_warnings
        assert f"CALPHA001 (announce channel): the app is not installed in workspace {ALPHA}" in (
            warning
        )


async def test_ready_once_the_client_credentials_and_signing_secret_are_set(
    sqlite_url: str, fake: SlackFake
) -> None:
    async with (
        oauth_bot(sqlite_url, fake) as bot,
        aiohttp.ClientSession() as session,
        session.get(f"{bot.base}/readyz") as ready,
    ):
        assert ready.status == 200
        assert (await ready.json())["platforms"] == {"slack": "up"}
    # No workspace has installed the app yet, and nothing was asked of Slack.
    assert fake.calls() == []


async def test_install_flow_stores_the_workspace_and_answers_with_its_token(
    sqlite_url: str, fake: SlackFake
) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        status, page = await install(bot, fake, ALPHA, name="Alpha Inc")
        assert status == 200, page
        [asked] = fake.oauth.authorize_requests
        # Slack was asked for the manifest's scopes, no user scopes, with a state to check.
        assert asked["scope"].split(",") == list(BOT_SCOPES)
        assert not asked.get("user_scope") and asked["state"]
        [exchange] = fake.calls("oauth.v2.access")
        assert exchange.ok and exchange.args.get("code", "").startswith("code-")
        token = await token_of(fake, ALPHA)
        async with bot.app.db.sessions() as session:
            stored = (await session.execute(select(bots.c.team_id, bots.c.bot_token))).all()
            assert [tuple(r) for r in stored] == [(ALPHA, token)]
            # The state was used up.
            assert await session.scalar(select(func.count()).select_from(oauth_states)) == 0

        # A command from that workspace: the mention is looked up with the workspace's token.
        sent = await fake.slash_command(
            bot.events, "/communitybot", "timezone <@UFRIEND01>", team_id=ALPHA, user_id="UASKER01"
        )
        assert sent.http is not None and sent.http.status == 200
        [lookup] = fake.calls("users.info")
        assert lookup.token == token
        await open_home(bot, fake, ALPHA, "UREADER01")
        assert [c.token for c in fake.calls("views.publish")] == [token]
        assert fake.home_views["UREADER01"]["blocks"][0]["text"]["text"] == "Alpha"


async def test_a_replayed_or_forged_redirect_is_refused(sqlite_url: str, fake: SlackFake) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        fake.oauth.approve_as(ALPHA, "Alpha", "UINSTALLR")
        async with browser(bot) as session:
            async with session.get(f"{bot.base}/slack/install", allow_redirects=False) as first:
                assert first.status == 302
                authorize = first.headers["Location"]
            async with session.get(authorize, allow_redirects=False) as slack:
                back = slack.headers["Location"]
            async with session.get(back) as done:
                assert done.status == 200
            # The same redirect again: the finished flow cleared the state cookie (and used
            # the state up), so nothing is exchanged.
            async with session.get(back) as again:
                assert again.status == 400
        # Another browser (no state cookie) with a fresh state is refused too.
        async with (
            browser(bot) as session,
            session.get(f"{bot.base}/slack/install", allow_redirects=False) as first,
        ):
            authorize = first.headers["Location"]
        async with browser(bot) as other, other.get(authorize) as forged:
            assert forged.status == 400
        assert len(fake.calls("oauth.v2.access")) == 1


async def test_a_workspace_no_community_serves_is_refused(sqlite_url: str, fake: SlackFake) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        status, page = await install(bot, fake, NEW)
        assert status == 403
        assert "not part of any community" in page and NEW in page
        async with bot.app.db.sessions() as session:
            for table in (bots, installations):
                assert await session.scalar(select(func.count()).select_from(table)) == 0
        # Its commands are not served either: the answer says why.
        sent = await fake.slash_command(bot.events, "/communitybot", "help", team_id=NEW)
        assert sent.http is not None and sent.http.status == 200
        [answer] = await fake.wait_for(lambda: fake.responses(sent.response_url), what="answer")
        assert answer.text == NOT_INSTALLED


async def test_an_install_that_cannot_be_recorded_is_undone(
    sqlite_url: str, fake: SlackFake
) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        # Slack names an installer the communities cannot take as a member id.
        status, page = await install(bot, fake, ALPHA, user="not-a-member-id")
        assert status == 503 and "try again" in page
        async with bot.app.db.sessions() as session:
            for table in (bots, installations):
                assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_open_installs_give_a_new_workspace_a_community(
    sqlite_url: str, fake: SlackFake
) -> None:
    config = {**TWO, "deployment": {"open_installs": True}}
    async with oauth_bot(sqlite_url, fake, config) as bot:
        status, _ = await install(bot, fake, NEW, name="Newcomers", user="UFOUNDER1")
        assert status == 200
        assert bot.app.services.communities is not None
        created = bot.app.services.communities.by_key(f"slack-{NEW.lower()}")
        assert created is not None and created.settings.community.name == "Newcomers"
        assert created.settings.slack.maintainers == ["UFOUNDER1"]
        await open_home(bot, fake, NEW, "UFOUNDER1")
        assert [c.token for c in fake.calls("views.publish")] == [await token_of(fake, NEW)]


# --------------------------------------------------------------------------- two workspaces


async def test_two_workspaces_each_use_their_own_token(any_db_url: str, fake: SlackFake) -> None:
    async with oauth_bot(any_db_url, fake) as bot:
        assert (await install(bot, fake, ALPHA))[0] == 200
        assert (await install(bot, fake, BETA))[0] == 200
        alpha, beta = await token_of(fake, ALPHA), await token_of(fake, BETA)
        assert alpha != beta
        await open_home(bot, fake, ALPHA, "UALICE001")
        await open_home(bot, fake, BETA, "UBOB00001")
        assert fake.home_views["UALICE001"]["blocks"][0]["text"]["text"] == "Alpha"
        assert fake.home_views["UBOB00001"]["blocks"][0]["text"]["text"] == "Beta"
        published = {c.args["user_id"]: c.token for c in fake.calls("views.publish")}
        assert published == {"UALICE001": alpha, "UBOB00001": beta}

        # The same member id typing a command in each workspace is a member of each community.
        for team in (ALPHA, BETA):
            sent = await fake.slash_command(
                bot.events,
                "/communitybot",
                "timezone Europe/Berlin",
                team_id=team,
                user_id="USAME0001",
            )
            assert sent.http is not None and "Europe/Berlin" in sent.http.text
        async with bot.app.db.sessions() as session:
            owners = await session.scalars(
                select(Member.community_id).where(Member.platform_user_id == "USAME0001")
            )
            assert sorted(owners) == sorted([bot.community_id("alpha"), bot.community_id("beta")])

        # Scheduled messages go out with their community's workspace token.
        await notice(bot, "alpha", "CALPHA001", "for alpha", timedelta(0))
        await notice(bot, "beta", "CBETA0001", "for beta", timedelta(0))
        assert await bot.app.run_due() == 2
        posts = {c.args["channel"]: c.token for c in fake.calls("chat.postMessage")}
        assert posts == {"CALPHA001": alpha, "CBETA0001": beta}


async def test_a_community_of_two_workspaces_sends_each_channel_through_the_one_that_sees_it(
    sqlite_url: str, fake: SlackFake
) -> None:
    config = {"communities": [{"key": "both", "slack": {"team_ids": [ALPHA, BETA]}}]}
    fake.add_channel("CINBETA01", "beta-news", team_id=BETA)
    async with oauth_bot(sqlite_url, fake, config) as bot:
        await install(bot, fake, ALPHA)
        await install(bot, fake, BETA)
        await notice(bot, "both", "CINBETA01", "one", timedelta(0))
        await bot.app.run_due()
        [post] = fake.calls("chat.postMessage")
        assert post.ok and post.token == await token_of(fake, BETA)
        # Alpha's bot was asked first and could not see it; the answer is remembered.
        assert [c.error for c in fake.calls("conversations.info")] == ["channel_not_found", None]
        await notice(bot, "both", "CINBETA01", "two", timedelta(0))
        await bot.app.run_due()
        assert len(fake.calls("conversations.info")) == 2


# --------------------------------------------------------------------------- leaving


async def test_uninstall_stops_sends_with_the_reason(sqlite_url: str, fake: SlackFake) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        await install(bot, fake, ALPHA)
        await install(bot, fake, BETA)
        await notice(bot, "alpha", "CALPHA001", "later", timedelta(hours=1))
        await notice(bot, "beta", "CBETA0001", "beta later", timedelta(hours=1))
        fake.oauth.uninstall(ALPHA)  # Slack revokes the tokens, then tells the app
        sent = await fake.send_event(bot.events, {"type": "app_uninstalled"}, team_id=ALPHA)
        assert sent.http is not None and sent.http.status == 200
        async with bot.app.db.sessions() as session:
            teams = (await session.scalars(select(bots.c.team_id))).all()
        assert teams == [BETA]
        row = await delivery(bot, "later")
        assert row.state == DeliveryState.FAILED and "removed from this workspace" in (
            row.last_error or ""
        )
        # Nothing is sent for it, and nothing is retried; the other workspace goes on.
        assert await bot.app.run_due(bot.app.clock() + timedelta(hours=2)) == 1
        assert [c.args["channel"] for c in fake.calls("chat.postMessage")] == ["CBETA0001"]
        # Its commands are answered that the app is not installed there.
        again = await fake.slash_command(bot.events, "/communitybot", "help", team_id=ALPHA)
        [answer] = await fake.wait_for(lambda: fake.responses(again.response_url), what="answer")
        assert answer.text == NOT_INSTALLED

        # Installed again, the workspace is served again, with its new token.
        assert (await install(bot, fake, ALPHA))[0] == 200
        await notice(bot, "alpha", "CALPHA001", "welcome back", timedelta(0))
        await bot.app.run_due()
        last = fake.calls("chat.postMessage")[-1]
        assert last.args["channel"] == "CALPHA001" and last.token == await token_of(fake, ALPHA)


async def test_a_send_to_a_workspace_without_the_app_fails_once_with_the_reason(
    sqlite_url: str, fake: SlackFake
) -> None:
    async with oauth_bot(sqlite_url, fake) as bot:
        await notice(bot, "beta", "CBETA0001", "never installed", timedelta(0))
        await bot.app.run_due()
        row = await delivery(bot, "never installed")
        assert row.state == DeliveryState.FAILED and row.attempts == 1
        assert row.last_error == f"the app is not installed in workspace {BETA}"
        assert fake.calls("chat.postMessage") == []


async def test_one_of_a_communitys_two_workspaces_uninstalls(
    sqlite_url: str, fake: SlackFake
) -> None:
    config = {"communities": [{"key": "both", "slack": {"team_ids": [ALPHA, BETA]}}]}
    fake.add_channel("CINALPHA1", "alpha-news", team_id=ALPHA)
    fake.add_channel("CINBETA01", "beta-news", team_id=BETA)
    async with oauth_bot(sqlite_url, fake, config) as bot:
        await install(bot, fake, ALPHA)
        await install(bot, fake, BETA)
        fake.oauth.uninstall(ALPHA)
        await fake.send_event(
            bot.events, {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, team_id=ALPHA
        )
        await notice(bot, "both", "CINALPHA1", "to alpha", timedelta(0))
        await notice(bot, "both", "CINBETA01", "to beta", timedelta(0))
        await bot.app.run_due()
        # The other workspace's channels still get theirs; the one that left fails at once.
        [post] = fake.calls("chat.postMessage")
        assert post.args["channel"] == "CINBETA01"
        row = await delivery(bot, "to alpha")
        assert row.state == DeliveryState.FAILED and row.attempts == 1
        assert row.last_error == (
            f"the app was uninstalled from workspace {ALPHA}; workspace {BETA} cannot see CINALPHA1"
        )


async def test_with_the_single_form_the_other_workspaces_go_on_after_one_uninstalls(
    sqlite_url: str, fake: SlackFake
) -> None:
    async with oauth_bot(sqlite_url, fake, {}) as bot:
        await install(bot, fake, ALPHA)
        await install(bot, fake, BETA)
        fake.oauth.uninstall(ALPHA)
        await fake.send_event(bot.events, {"type": "app_uninstalled"}, team_id=ALPHA)
        await notice(bot, "default", "CBETA0001", "still served", timedelta(0))
        await bot.app.run_due()
        [post] = fake.calls("chat.postMessage")
        assert post.ok and post.token == await token_of(fake, BETA)

        # When the last one leaves, nothing has a workspace to go to: it fails, once.
        fake.oauth.uninstall(BETA)
        await fake.send_event(bot.events, {"type": "app_uninstalled"}, team_id=BETA)
        await notice(bot, "default", "CBETA0001", "nobody left", timedelta(0))
        await bot.app.run_due()
        row = await delivery(bot, "nobody left")
        assert row.state == DeliveryState.FAILED and row.attempts == 1
        assert row.last_error == "no Slack workspace of this community has the app installed"
        assert len(fake.calls("chat.postMessage")) == 1

        # A workspace installing again is served again.
        await install(bot, fake, ALPHA)
        await notice(bot, "default", "CALPHA001", "back again", timedelta(0))
        await bot.app.run_due()
        assert fake.calls("chat.postMessage")[-1].token == await token_of(fake, ALPHA)


# --------------------------------------------------------------------------- rotation


async def test_an_expiring_token_is_refreshed_before_use(sqlite_url: str, fake: SlackFake) -> None:
    # Tokens that rotate, each with half an hour left: less than the two hours before expiry
    # at which the bot refreshes one.
    fake.oauth.token_lifetime = 30 * 60
    async with oauth_bot(sqlite_url, fake) as bot:
        await install(bot, fake, ALPHA)
        first = await token_of(fake, ALPHA)

        # A scheduled message refreshes the token first (oauth.v2.access with the refresh
        # token, at SLACK_API_URL) and posts with the new one, which is saved.
        await notice(bot, "alpha", "CALPHA001", "fresh", timedelta(0))
        await bot.app.run_due()
        refresh = fake.calls("oauth.v2.access")[-1]
        assert refresh.ok and refresh.args["grant_type"] == "refresh_token"
        [post] = fake.calls("chat.postMessage")
        second = post.token
        assert post.ok and second not in (None, first)
        async with bot.app.db.sessions() as session:
            assert (await session.scalars(select(bots.c.bot_token))).all() == [second]

        # A request from Slack: bolt's authorize refreshes it the same way.
        await open_home(bot, fake, ALPHA, "UREADER01")
        [publish] = fake.calls("views.publish")
        assert publish.ok and publish.token not in (first, second)
        assert len(fake.calls("oauth.v2.access")) == 3
