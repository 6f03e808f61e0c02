"""Rendering the neutral Message for Discord: escaping, times, pings and splitting."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord.render import MAX_CONTENT, Rendered, escape, render, render_answer
from bot.core.invocation import MemberRef, Platform
from bot.core.message import (
    Button,
    Code,
    Heading,
    Link,
    Mention,
    Message,
    Strong,
    Time,
    bullets,
    message,
    para,
    quote,
)
from tests.fakes.discord_payloads import pings, validate_message


def test_times_show_in_each_readers_zone_with_relative() -> None:
    at = datetime(2021, 9, 30, 16, 0, tzinfo=UTC)
    (out,) = render(Message.text("Next: ", Time(at, "America/Los_Angeles")))
    assert out.content == "Next: <t:1633017600:F> (<t:1633017600:R>)"


def test_user_text_cannot_ping_or_format() -> None:
    typed = "@everyone <@123> <@&456> <#789> <t:1:F> **bold** # heading\n> quote"
    (out,) = render(message(quote(typed), para("by ", Strong("mo"))))
    assert "@everyone" not in out.content.replace("@\u200beveryone", "")
    assert "<@" not in out.content.replace("\\<@", "")
    assert "<t:" not in out.content.replace("\\<t:", "")
    assert "**bold**" not in out.content
    assert out.allowed_mentions.to_dict() == {"parse": [], "users": [], "roles": []}


@given(st.text(max_size=300))
def test_escaped_text_never_pings_whatever_the_mentions_rules(text: str) -> None:
    escaped = escape(text)
    # Even with Discord's most permissive rules, escaped text pings nobody.
    assert pings(escaped, None) == {"users": [], "roles": [], "everyone": False}


def test_only_a_mention_of_a_discord_member_and_the_ping_role_are_live() -> None:
    olu = MemberRef(Platform.DISCORD, "111", "olu")
    someone = MemberRef(Platform.SLACK, "U1", "sam")
    msg = Message.text("Hero: ", Mention(olu), " and ", Mention(someone))
    (quiet,) = render(msg, ping_role=999)
    assert quiet.content == "Hero: <@111> and @sam"
    assert quiet.allowed_mentions.to_dict()["users"] == [111]
    assert quiet.allowed_mentions.to_dict()["roles"] == []
    loud_msg = Message(msg.blocks, ping=True)
    (loud,) = render(loud_msg, ping_role=999)
    assert loud.content.startswith("<@&999>")
    rules = loud.allowed_mentions.to_dict()
    assert rules["parse"] == [] and rules["roles"] == [999]
    (no_role,) = render(loud_msg, ping_role=None)
    assert "<@&" not in no_role.content


def test_blocks_render_as_markdown() -> None:
    msg = message(
        Heading("Meetings"),
        bullets([["a ", Code("x`y")], [Link("https://example.org/a b", "the (link)")]]),
    )
    (out,) = render(msg)
    assert out.content == ("### Meetings\n\n- a `xʹy`\n- [the (link)](<https://example.org/a%20b>)")


def test_long_output_is_split_within_limits_and_buttons_go_last() -> None:
    rows = [[f"item {i} " + "word " * 30] for i in range(200)]
    msg = message(Heading("Many"), bullets(rows)).plus(actions=[Button("x:confirm", "Confirm")])
    out = render(msg)
    assert len(out) > 1
    assert all(0 < len(r.content) <= MAX_CONTENT for r in out)
    assert [bool(r.buttons) for r in out] == [False] * (len(out) - 1) + [True]
    joined = "\n".join(r.content for r in out)
    for i in range(200):
        assert f"item {i} " in joined


def test_an_unbroken_run_is_hard_split() -> None:
    out = render(Message.text("x" * 5000))
    assert [len(r.content) for r in out] == [2000, 2000, 1000]


def test_button_view_keeps_action_ids() -> None:
    (out,) = render(Message.text("Preview").plus(actions=[Button("announce:confirm:1", "Post")]))
    view = out.view()
    assert view is not None
    assert [c["custom_id"] for row in view.to_components() for c in row["components"]] == [
        "announce:confirm:1"
    ]


def _as_shown(markdown: str) -> str:
    """What Discord shows for backslash escapes: the escaped character itself."""
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.S).replace("\u200b", "")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120))
def test_escaped_text_shows_exactly_as_typed(text: str) -> None:
    assert _as_shown(escape(text)) == text.replace("\u200b", "")


# -- answers: text while it fits one message, else embeds --


def _body(out: Rendered) -> dict[str, object]:
    """What discord.py sends for one rendered message (the parts Discord checks)."""
    view = out.view()
    return {
        "content": out.content or None,
        "embeds": [e.to_dict() for e in out.embeds()],
        "components": view.to_components() if view is not None else [],
    }


def test_an_answer_that_fits_one_message_stays_text() -> None:
    (out,) = render_answer(message(Heading("Meetings"), para("Thursday at 9")))
    assert out.content == "### Meetings\n\nThursday at 9" and out.cards == ()


def _sections(count: int, lines: int, width: int = 60) -> Message:
    blocks = []
    for n in range(count):
        rows = [[f"s{n} line {i} ", "w" * width] for i in range(lines)]
        blocks += [Heading(f"Section {n}"), bullets(rows)]
    return message(*blocks).plus(actions=[Button("x:confirm", "Confirm")])


def test_a_long_answer_is_one_embed_a_section_headed_by_its_heading() -> None:
    # About 4,900 characters in five sections: one message instead of three.
    (out,) = render_answer(_sections(5, 12))
    validate_message(_body(out))
    assert out.content == ""
    assert [c.title for c in out.cards] == [f"Section {n}" for n in range(5)]
    assert all("s3 line 11 " in c.description for c in out.cards[3:4])
    assert "###" not in "".join(c.description for c in out.cards)
    assert out.buttons and out.allowed_mentions.to_dict()["parse"] == []


def test_long_answers_fill_messages_up_to_discords_embed_limits() -> None:
    # 30 sections of about 1,000 characters, one of about 9,000: more than one message
    # holds, and a section longer than one embed continues in the next.
    msg = message(
        *_sections(30, 12, 20).blocks,
        Heading("Long"),
        bullets([[f"long {i} " + "z" * 80] for i in range(100)]),
    ).plus(actions=[Button("x:confirm", "Confirm")])
    out = render_answer(msg)
    assert len(out) > 1
    for one in out:
        validate_message(_body(one))  # at most 10 embeds, 4,096 and 6,000 characters
    cards = [c for one in out for c in one.cards]
    assert [c.title for c in cards if c.title][-1] == "Long"
    assert [c.title for c in cards[-3:]] == ["Long", "", ""]
    text = "\n".join(c.description for c in cards)
    assert all(f"s{n} line 11 " in text for n in range(30))
    assert all(f"long {i} " in text for i in range(100))
    assert [bool(o.buttons) for o in out] == [False] * (len(out) - 1) + [True]
    # Packed: no message could have taken the next one's first embed.
    for one, following in itertools.pairwise(out):
        size = sum(c.size for c in one.cards) + following.cards[0].size
        assert len(one.cards) == 10 or size > 6000


def test_mentions_in_an_embedded_answer_notify_no_one() -> None:
    olu = MemberRef(Platform.DISCORD, "1234", "olu")
    rows = [[Mention(olu), " " + "word " * 60] for _ in range(60)]
    out = render_answer(message(Heading("Nominations"), bullets(rows)))
    assert out[0].cards and "<@1234>" in out[0].cards[0].description
    assert all(
        pings(c.description, o.allowed_mentions.to_dict())["users"] == []
        for o in out
        for c in o.cards
    )
