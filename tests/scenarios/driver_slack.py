"""The Slack driver: the whole bot in-process, Slack's servers faked on 127.0.0.1.

Commands travel as Slack sends them: text escaped as a client escapes it (`&amp;`, `<@U…>`,
`<https://…>`), signed, POSTed over real HTTP to the bot's /slack/events, answered by the
real slack_bolt. What the asker "saw" is the ack plus whatever `respond` posted to the
response_url, turned into the text a Slack client would show.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import App
from bot.core.invocation import Platform
from bot.core.urls import Resolver
from bot.runtime.feature import Feature
from tests.conftest import make_settings
from tests.fakes.slack_api import SlackFake
from tests.fakes.slack_signing import TEAM_ID, AppResponse
from tests.scenarios.driver import PEOPLE, Said

BOT_TOKEN = "xoxb-scenario-bot-token"
COMMAND_CHANNEL = "CGENERAL"

_MENTION_TYPED = re.compile(r"(?<![\w<])@([a-z][a-z0-9_.-]*)")
_CHANNEL_TYPED = re.compile(r"(?<![\w<&])#([a-z][a-z0-9_-]*)")
_URL_TYPED = re.compile(r"https?://[^\s\"“”]+")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def user_id(name: str) -> str:
    return "U" + name.upper().replace(".", "").replace("-", "").replace("_", "")


def channel_id(name: str) -> str:
    return "C" + name.upper().replace("-", "").replace("_", "")


def typed(text: str) -> str:
    """Command text as a Slack client sends it with `should_escape: true`."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _URL_TYPED.sub(lambda m: f"<{m.group(0)}>", text)
    text = _CHANNEL_TYPED.sub(lambda m: f"<#{channel_id(m.group(1))}|{m.group(1)}>", text)
    # Clients send `<@U…>` or, with a label, `<@U…|name>`; the label form is the harder one.
    return _MENTION_TYPED.sub(lambda m: f"<@{user_id(m.group(1))}|{m.group(1)}>", text)


@dataclass
class _Context:
    channel: str
    public: bool


class SlackDriver:
    platform = Platform.SLACK
    structured = False

    def __init__(self, app: App, fake: SlackFake, team_id: str = TEAM_ID) -> None:
        self.app = app
        self.fake = fake
        # The workspace people type from (two drivers on one app are two workspaces).
        self.team_id = team_id
        adapter = app.adapters[Platform.SLACK]
        assert isinstance(adapter, SlackAdapter)
        self.adapter = adapter
        self.url = f"http://127.0.0.1:{app.http_port}/slack/events"
        self._names: dict[str, str] = {}
        self._contexts: dict[int, tuple[Said, _Context]] = {}
        for name in PEOPLE:
            self._person(name)

    def _person(self, name: str) -> str:
        uid = user_id(name)
        if uid not in self._names:
            self._names[uid] = name
            self.fake.add_user(uid, name)
        return uid

    # ------------------------------------------------------------------ what people see

    def visible(self, mrkdwn: str) -> str:
        """Slack mrkdwn as a Slack client shows it (times as the fallback in CONTRACT's format)."""
        text = _DATE.sub(lambda m: m.group(1), mrkdwn)
        text = _USER.sub(lambda m: "@" + self._names.get(m.group(1), m.group(1)), text)
        text = _CHANNEL.sub(lambda m: "#" + m.group(1), text)
        text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
        text = _SUBTEAM.sub(lambda m: "@" + m.group(1), text)

        def link(m: re.Match[str]) -> str:
            url, label = m.group(1).replace("&amp;", "&"), m.group(2)
            return f"{label} ({url})" if label and label != url else url

        text = _LINK.sub(link, text)
        text = _BOLD.sub(lambda m: m.group(1), text)
        return html.unescape(text) if "&" in text else text

    def _message_text(self, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        lines: list[str] = []
        buttons: list[tuple[str, str]] = []
        blocks = body.get("blocks") or []
        for block in blocks:
            kind = block.get("type")
            if kind == "header":
                lines.append(block["text"]["text"])
            elif kind == "section":
                lines.append(self.visible(block["text"]["text"]))
            elif kind == "context":
                lines.append(" ".join(self.visible(e.get("text", "")) for e in block["elements"]))
            elif kind == "actions":
                buttons += [(e["text"]["text"], e["action_id"]) for e in block["elements"]]
        if not blocks:
            lines.append(self.visible(body.get("text", "")))
        return "\n".join(lines), buttons

    def _said(self, bodies: list[dict[str, Any]], channel: str) -> Said:
        texts, buttons, public = [], [], False
        for body in bodies:
            text, found = self._message_text(body)
            texts.append(text)
            buttons += found
            public = public or body.get("response_type") == "in_channel"
        said = Said("\n".join(texts), buttons, public)
        self._contexts[id(said)] = (said, _Context(channel, public))
        return said

    @staticmethod
    def _ack_body(answer: AppResponse | None) -> list[dict[str, Any]]:
        assert answer is not None and answer.status == 200, answer
        if not answer.text:
            return []
        body = answer.json() if answer.text.startswith("{") else {"text": answer.text}
        return [body]

    # ------------------------------------------------------------------ the Driver protocol

    async def say(self, text: str, *, as_: str = "olu") -> Said:
        command, _, rest = text.strip().partition(" ")
        canonical = command.lstrip("/")
        slack_name = self.adapter.names.get(canonical, canonical)
        sent = await self.fake.slash_command(
            self.url,
            f"/{slack_name}",
            typed(rest),
            user_id=self._person(as_),
            user_name=as_,
            channel_id=COMMAND_CHANNEL,
            team_id=self.team_id,
        )
        await self.adapter.drain()
        bodies = self._ack_body(sent.http) + [
            p.body for p in self.fake.responses(sent.response_url)
        ]
        return self._said(bodies, COMMAND_CHANNEL)

    async def press(self, said: Said, button: str, *, as_: str = "olu") -> Said:
        action_id = said.button(button)
        _, context = self._contexts[id(said)]
        sent = await self.fake.press_button(
            self.url,
            action_id,
            action_id,
            user_id=self._person(as_),
            user_name=as_,
            channel_id=context.channel,
            is_ephemeral=not context.public,
            team_id=self.team_id,
        )
        assert sent.http is not None and sent.http.status == 200, sent.http
        await self.adapter.drain()
        return self._said([p.body for p in self.fake.responses(sent.response_url)], context.channel)

    async def channel_posts(self) -> list[str]:
        return [
            self._message_text({"text": m.text, "blocks": m.blocks})[0]
            for m in self.fake.posted()
            if m.channel[:1] in ("C", "G")
        ]

    async def run_due(self) -> int:
        sent = await self.app.run_due()
        await self.adapter.drain()
        return sent


@asynccontextmanager
async def slack_driver(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    resolver: Resolver,
    extra_features: Sequence[Feature] = (),
    database: str | None = None,
) -> AsyncIterator[SlackDriver]:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        settings = make_settings(
            database or f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
            config,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            http_port=0,
        )
        app = App(settings, timer=False, resolver=resolver, extra_features=extra_features)
        await app.start()
        try:
            yield SlackDriver(app, fake)
        finally:
            await app.stop()


DRIVER = slack_driver
