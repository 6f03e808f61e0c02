"""Block Kit rendering: escaping, time tokens, buttons, and splitting within Slack's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.slack.render import (
    MAX_BLOCKS,
    MAX_MESSAGE_CHARS,
    MAX_TEXT,
    escape,
    plain_fallback,
    render,
)
from bot.core.invocation import MemberRef, Platform
from bot.core.message import (
    Bullets,
    Button,
    ButtonStyle,
    Code,
    Heading,
    Link,
    Mention,
    Message,
    Strong,
    Text,
    Time,
    bullets,
    message,
    para,
    quote,
)
from tests.fakes.slack_blocks import validate_blocks

LIVE = re.compile(r"<(?:!|@|#)")


def all_text(rendered: list) -> str:
    return "\n".join(m.text + repr(m.blocks) for m in rendered)


@given(st.text())
def test_user_text_never_forms_a_live_mention(typed: str) -> None:
    msg = message(
        Heading(typed),
        para("Nominated: ", Strong(typed), " ", Code(typed), " ", Link("https://x.org", typed)),
        quote(typed),
        bullets([[typed], [Text(typed)]]),
    )
    for m in render(msg):
        validate_blocks(m.blocks)
        assert not LIVE.search(m.text)
        for block in m.blocks:
            if block["type"] == "section":
                assert not LIVE.search(block["text"]["text"])
                assert block["text"]["verbatim"] is True


def test_known_escapes_and_mentions() -> None:
    msg = Message.text(
        "<!channel> & <@U012> <!subteam^S1> ", Mention(MemberRef(Platform.SLACK, "U0ABC"))
    )
    [m] = render(msg)
    assert m.text == "&lt;!channel&gt; &amp; &lt;@U012&gt; &lt;!subteam^S1&gt; <@U0ABC>"
    # A console or Discord member is written as a name, never as a Slack mention.
    other = Message.text(Mention(MemberRef(Platform.CONSOLE, "<!here>", "<!here>")))
    assert render(other)[0].text == "@&lt;!here&gt;"
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_ping_only_when_asked_and_only_the_configured_target() -> None:
    body = message(para("Release!"), ping=True)
    assert render(body, ping="here")[0].text.startswith("<!here>")
    assert render(body, ping="S0GROUP01")[0].text.startswith("<!subteam^S0GROUP01>")
    assert "<!" not in render(message(para("Release!")), ping="here")[0].text
    assert "<!" not in render(body, ping=None)[0].text


def test_time_token_has_contract_fallback() -> None:
    at = datetime(2021, 9, 30, 16, 0, tzinfo=UTC)
    [m] = render(Message.text(Time(at, "America/Los_Angeles")))
    assert m.text == (
        "<!date^1633017600^{date_long_pretty} at {time}|Thu 30 Sep 2021, 09:00 PDT (16:00 UTC)>"
    )
    [m] = render(Message.text(Time(at, "America/Los_Angeles")), reader_zone="Europe/Berlin")
    assert "Thu 30 Sep 2021, 18:00 CEST (16:00 UTC)" in m.text


def test_links_and_buttons() -> None:
    msg = message(
        para(Link("https://example.org/a?b=1&c=2", "the <form>"), " ", Link("https://x.org")),
        actions=[
            Button("announce:confirm:7", "Post it", ButtonStyle.PRIMARY),
            Button("announce:cancel:7", "Cancel"),
        ],
    )
    [m] = render(msg)
    validate_blocks(m.blocks)
    assert "<https://example.org/a?b=1&amp;c=2|the &lt;form&gt;>" in m.text
    assert "<https://x.org>" in m.text
    actions = m.blocks[-1]
    assert actions["type"] == "actions"
    confirm, cancel = actions["elements"]
    assert confirm["action_id"] == "announce:confirm:7" and confirm["style"] == "primary"
    assert "style" not in cancel


def test_long_output_is_split_within_limits() -> None:
    rows = [[f"line {i} " + "x" * 80] for i in range(400)]
    msg = message(
        Heading("Many"),
        Bullets(tuple(tuple(Text(t) for t in r) for r in rows)),
        actions=[Button("a:b", "Go")],
    )
    parts = render(msg)
    assert len(parts) > 1
    for m in parts:
        validate_blocks(m.blocks)
        assert len(m.blocks) <= MAX_BLOCKS and len(m.text) <= MAX_TEXT
        assert sum(len(b.get("text", {}).get("text", "")) for b in m.blocks) <= MAX_MESSAGE_CHARS
        assert m.text.endswith("…") or len(m.text) < MAX_TEXT  # the fallback is cut, not split
        assert m.text.count("<") == m.text.count(">")  # never inside a token
    # Nothing lost, nothing doubled, buttons last.
    joined = "\n".join(b["text"]["text"] for m in parts for b in m.blocks if b["type"] == "section")
    assert all(joined.count(f"line {i} ") == 1 for i in range(400))
    assert parts[-1].blocks[-1]["type"] == "actions"
    assert all(b["type"] != "actions" for m in parts[:-1] for b in m.blocks)

    many = message(*[para(f"p{i}") for i in range(120)])
    parts = render(many)
    assert sum(len(m.blocks) for m in parts) == 120
    assert all(len(m.blocks) <= MAX_BLOCKS for m in parts)


def test_plain_fallback_is_clipped() -> None:
    text = plain_fallback(Message.text("y" * 10_000))
    assert len(text) <= MAX_TEXT


def test_a_heading_never_forms_a_live_mention_in_the_fallback_text() -> None:
    # Found by the property above: the header block is plain text, the fallback is mrkdwn.
    for typed in ("<!here>", "<@U012>", "<#C012>", "a <!subteam^S1> b"):
        [m] = render(message(Heading(typed)))
        assert not LIVE.search(m.text), m.text
        assert m.blocks[0]["text"] == {"type": "plain_text", "text": typed}
