"""The neutral Message as Slack Block Kit, with a text fallback, split within Slack's limits.

Escaping happens here and only here: every piece of text that did not come from the bot's
own markup has `& < >` escaped, so nothing a person typed can become `<!channel>`,
`<!here>`, `<!everyone>`, `<@U…>` or `<!subteam^…>`. Text objects are `verbatim`, so Slack
does not auto-link names in them either. The only live pings are a `Mention` of a Slack
member and a message-level `ping`, mapped to the configured `announce_ping` target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.core.invocation import Platform
from bot.core.message import (
    Block,
    Bullets,
    Button,
    ButtonStyle,
    Code,
    Heading,
    Inline,
    Link,
    Mention,
    Message,
    Paragraph,
    Quote,
    Strong,
    Text,
    Time,
)
from bot.core.times import format_fallback

Json = dict[str, Any]

# Slack's limits: a message carries at most 50 blocks, a section's text at most 3,000
# characters and a header 150; the top-level `text` (what notifications show when there are
# blocks) is kept within 4,000. We also keep the blocks of one message within 12,000
# characters, so a long answer becomes a few readable messages rather than one huge one.
MAX_BLOCKS = 50
MAX_TEXT = 4000
MAX_MESSAGE_CHARS = 12_000
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTONS = 25
MAX_BUTTON_LABEL = 75

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SUBTEAM = re.compile(r"^S[A-Z0-9]{2,}$")


# Most of what is escaped is the bot's own wording, the same on every answer (the help is
# some 130 pieces): str.translate was a fifth of the CPU of a /communitybot help. Bounded, so
# people's own text passing through cannot grow it.
@lru_cache(maxsize=4096)
def escape(text: str) -> str:
    """Slack's three control characters, escaped; the result can never form a mention."""
    return text.translate(_ESCAPES)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def date_token(at_unix: int, fallback: str, relative: bool = False) -> str:
    """`<!date^…^{date_long_pretty} at {time}|fallback>`: each reader sees their own zone."""
    fmt = "{date_long_pretty} at {time} ({ago})" if relative else "{date_long_pretty} at {time}"
    # The fallback is ours (CONTRACT's format) but `|` and `>` would end the token early.
    safe = escape(fallback).replace("|", "/")
    return f"<!date^{at_unix}^{fmt}|{safe}>"


def inline(part: Inline, reader_zone: str | None = None) -> str:
    """One inline element as Slack mrkdwn."""
    match part:
        case Text(text=text):
            return escape(text)
        case Strong(text=text):
            inner = escape(text).replace("*", "")
            return f"*{inner}*" if inner.strip() else inner
        case Code(text=text):
            inner = escape(text).replace("`", "'")
            return f"`{inner}`" if inner else ""
        case Mention(member=member):
            if member.platform is Platform.SLACK and _SLACK_USER.match(member.user_id):
                return f"<@{member.user_id}>"
            return escape("@" + (member.display_name or member.user_id))
        case Time(at=at, zone=zone, relative=relative):
            fallback = format_fallback(at, reader_zone or zone)
            return date_token(int(at.timestamp()), fallback, relative)
        case Link(url=url, label=label):
            # A URL with `|` or `>` cannot be written as a Slack link; show it as text.
            if any(c in url for c in "|<> ") or not url.startswith(("http://", "https://")):
                return escape(label + " " + url if label else url)
            target = url.replace("&", "&amp;")
            return f"<{target}|{escape(label)}>" if label else f"<{target}>"
    raise TypeError(f"unknown inline {part!r}")


def inlines(parts: Iterable[Inline], reader_zone: str | None = None) -> str:
    return "".join(inline(p, reader_zone) for p in parts)


def ping_token(target: str | None) -> str:
    """The configured announce_ping as a live Slack ping (the one deliberate exception)."""
    if target in ("here", "channel"):
        return f"<!{target}>"
    if target and _SUBTEAM.match(target):
        return f"<!subteam^{target}>"
    return ""


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One Slack message: the fallback `text` and its `blocks`."""

    text: str
    blocks: list[Json]

    def as_kwargs(self) -> Json:
        return {"text": self.text, "blocks": self.blocks}


def _mrkdwn(text: str) -> Json:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _split_lines(text: str, limit: int) -> Iterator[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible."""
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        # Never cut inside a <…> token: back up to before its `<`.
        opening = text.rfind("<", 0, cut)
        if opening > text.rfind(">", 0, cut) and opening > 0:
            cut = opening
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text:
        yield text


def _block_pieces(block: Block, reader_zone: str | None) -> Iterator[tuple[Json, str]]:
    """Slack blocks for one neutral block, each with its fallback text."""
    match block:
        case Heading(text=text):
            plain = _clip(text.strip() or "…", MAX_HEADER)
            # The header block is plain text, but the message's fallback `text` is mrkdwn,
            # where a typed `<!here>` would be live: escaped there like any other text.
            yield {"type": "header", "text": {"type": "plain_text", "text": plain}}, escape(plain)
            return
        case Paragraph(parts=parts):
            text = inlines(parts, reader_zone)
        case Quote(parts=parts):
            body = inlines(parts, reader_zone)
            text = "\n".join("> " + line for line in body.split("\n"))
        case Bullets(items=items):
            text = "\n".join("• " + inlines(item, reader_zone) for item in items)
        case _:
            raise TypeError(f"unknown block {block!r}")
    if not text.strip():
        return
    for piece in _split_lines(text, MAX_SECTION):
        yield {"type": "section", "text": _mrkdwn(piece)}, piece


_STYLES = {ButtonStyle.PRIMARY: "primary", ButtonStyle.DANGER: "danger"}


def button(b: Button) -> Json:
    element: Json = {
        "type": "button",
        "action_id": b.action_id[:255],
        "value": b.action_id[:2000],
        "text": {"type": "plain_text", "text": _clip(b.label, MAX_BUTTON_LABEL), "emoji": True},
    }
    if b.style in _STYLES:
        element["style"] = _STYLES[b.style]
    return element


def render(
    message: Message,
    *,
    ping: str | None = None,
    reader_zone: str | None = None,
) -> list[SlackMessage]:
    """Block Kit messages for `message`: usually one; more when it exceeds Slack's limits.

    `ping` is the configured announce_ping, used only when the message asks to ping.
    Buttons go on the last message, so they follow everything they refer to.
    """
    pieces: list[tuple[Json, str]] = []
    if message.ping and ping_token(ping):
        token = ping_token(ping)
        pieces.append(({"type": "section", "text": _mrkdwn(token)}, token))
    for block in message.blocks:
        pieces.extend(_block_pieces(block, reader_zone))

    actions: Json | None = None
    if message.actions:
        actions = {
            "type": "actions",
            "block_id": "actions",
            "elements": [button(b) for b in message.actions[:MAX_BUTTONS]],
        }
    out: list[SlackMessage] = []
    blocks: list[Json] = []
    texts: list[str] = []
    size = 0
    for block, text in pieces:
        if blocks and (len(blocks) >= MAX_BLOCKS - 1 or size + len(text) + 1 > MAX_MESSAGE_CHARS):
            out.append(SlackMessage(fallback_text(texts), blocks))
            blocks, texts, size = [], [], 0
        blocks.append(block)
        texts.append(text)
        size += len(text) + 1
    if actions is not None:
        blocks.append(actions)
    if blocks or not out:
        fallback = fallback_text(texts) or " ".join(b.label for b in message.actions) or " "
        out.append(SlackMessage(fallback, blocks))
    return out


def fallback_text(texts: list[str]) -> str:
    """The blocks' text as one string within MAX_TEXT, cut at a line end (never mid-token)."""
    text = "\n".join(texts)
    if len(text) <= MAX_TEXT:
        return text
    return next(_split_lines(text, MAX_TEXT - 1)).rstrip() + "…"


def plain_fallback(message: Message, reader_zone: str | None = None) -> str:
    """The whole message as one mrkdwn string (for places without blocks), clipped to 4,000."""
    return _clip("\n".join(m.text for m in render(message, reader_zone=reader_zone)), MAX_TEXT)
