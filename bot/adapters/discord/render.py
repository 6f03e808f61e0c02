"""The neutral Message as Discord markdown and buttons, split within Discord's limits.

Escaping happens here and only here: text that did not come from the bot's own markup has its
markdown, mention syntax (`<@…>`, `<@&…>`, `<#…>`, `<t:…>`) and `@everyone`/`@here` defused,
so what a person typed shows as typed and can never ping. On top of that every message
carries `allowed_mentions` with an empty `parse` list; the only live pings are a `Mention`
of a Discord member and, on a message marked `ping`, the one configured announce role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache

import discord

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

# Discord's limits: 2,000 characters of content per message; 5 buttons a row, 5 rows;
# 80 characters per button label; 100 per custom_id. Embeds: 10 a message, a title of 256
# characters and a description of 4,096 each, 6,000 characters in all of a message's embeds.
MAX_CONTENT = 2000
MAX_BUTTONS = 25
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_TEXT = 4096
MAX_EMBEDS_CHARS = 6000

_LINE_START = re.compile(r"^(\s*)([#>\-*+]|\d+\.)", re.MULTILINE)
_MASS = re.compile(r"@(everyone|here)")


# Most of what is escaped is the bot's own wording (the help's forty-odd lines, headings,
# button labels), the same on every answer; discord.py's escape_markdown is a handful of
# regular expressions and was a fifth of the CPU a /communitybot help cost. Bounded, so
# people's own text passing through cannot grow it.
@lru_cache(maxsize=4096)
def escape(text: str) -> str:
    """Text shown exactly as typed: no markdown, no mention, no timestamp, no mass ping."""
    out = discord.utils.escape_markdown(text)
    out = out.replace("<", "\\<")
    out = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out)
    return _MASS.sub("@\u200b\\1", out)


def timestamp(time: Time) -> str:
    """`<t:UNIX:F> (<t:UNIX:R>)`: each reader sees their own zone, and how far away it is."""
    unix = int(time.at.astimezone(UTC).timestamp())
    return f"<t:{unix}:F> (<t:{unix}:R>)"


def _inline(part: Inline, mentions: set[int]) -> str:
    match part:
        case Text(text):
            return escape(text)
        case Strong(text):
            return f"**{escape(text)}**"
        case Code(text):
            # Inside code nothing is markdown; only a backtick could end it early.
            return "`" + text.replace("`", "ʹ") + "`" if text else ""
        case Mention(member):
            if member.platform is Platform.DISCORD and member.user_id.isdigit():
                mentions.add(int(member.user_id))
                return f"<@{member.user_id}>"
            return escape("@" + (member.display_name or member.user_id))
        case Time():
            return timestamp(part)
        case Link(url, label):
            safe_url = url.replace(">", "%3E").replace(")", "%29").replace(" ", "%20")
            if label:
                shown = escape(label).replace("]", "\\]")
                return f"[{shown}](<{safe_url}>)"
            return f"<{safe_url}>"
    raise AssertionError(f"unhandled inline {part!r}")


def _inlines(parts: Iterable[Inline], mentions: set[int]) -> str:
    return "".join(_inline(p, mentions) for p in parts)


def _block(block: Block, mentions: set[int]) -> str:
    match block:
        case Paragraph(parts):
            return _inlines(parts, mentions)
        case Heading(text):
            return f"### {escape(text)}"
        case Quote(parts):
            body = _inlines(parts, mentions)
            return "\n".join("> " + line for line in body.split("\n"))
        case Bullets(items):
            return "\n".join("- " + _inlines(item, mentions) for item in items)
    raise AssertionError(f"unhandled block {block!r}")


@dataclass(frozen=True, slots=True)
class Card:
    """One embed of a long answer: a section's heading and its text."""

    title: str
    description: str

    @property
    def size(self) -> int:
        return len(self.title) + len(self.description)

    def embed(self) -> discord.Embed:
        return discord.Embed(title=self.title or None, description=self.description or None)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One Discord message: content (or cards), buttons, and exactly who it may ping."""

    content: str
    buttons: tuple[Button, ...]
    allowed_mentions: discord.AllowedMentions
    cards: tuple[Card, ...] = ()

    def embeds(self) -> list[discord.Embed]:
        return [card.embed() for card in self.cards]

    def view(self) -> discord.ui.View | None:
        """The buttons as a View that discord.py does not keep: presses reach the core instead."""
        if not self.buttons:
            return None
        view = discord.ui.View(timeout=None)
        for button in self.buttons[:MAX_BUTTONS]:
            view.add_item(
                discord.ui.Button(
                    label=button.label[:MAX_LABEL],
                    custom_id=button.action_id[:MAX_CUSTOM_ID],
                    style=_STYLES[button.style],
                )
            )
        # A stopped view is sent but never stored, so no memory grows per message and a
        # press after a restart (or on another replica) is routed the same way.
        view.stop()
        return view


_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


def allowed(users: Iterable[int] = (), role: int | None = None) -> discord.AllowedMentions:
    """`parse` stays empty: only the listed users and the one role may be pinged."""
    return discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(u) for u in sorted(users)],
        roles=[discord.Object(role)] if role is not None else [],
        replied_user=False,
    )


def render(
    message: Message, *, ping_role: int | None = None, ping_members: bool = True
) -> list[Rendered]:
    """Discord messages for `message`; buttons go on the last one.

    `ping_role` is the configured announce_ping role, used only when the message asks to ping;
    `ping_members` lets a `Mention` notify the member (posts such as a Hero announcement),
    while answers to commands show mentions without notifying anyone.
    """
    mentions: set[int] = set()
    texts = [_block(b, mentions) for b in message.blocks]
    return _as_text(message, texts, mentions, ping_role, ping_members)


def _as_text(
    message: Message,
    texts: list[str],
    mentions: set[int],
    ping_role: int | None,
    ping_members: bool,
) -> list[Rendered]:
    role = ping_role if message.ping else None
    if role is not None:
        texts = [f"<@&{role}>", *texts]
    chunks = list(_split("\n\n".join(t for t in texts if t))) or [""]
    if not chunks[-1] and not message.actions:
        chunks[-1] = "\u200b"  # Discord refuses an empty message
    rules = allowed(mentions if ping_members else (), role)
    out = [Rendered(c, (), rules) for c in chunks]
    out[-1] = Rendered(out[-1].content or "\u200b", message.actions[:MAX_BUTTONS], rules)
    return out


def render_answer(message: Message) -> list[Rendered]:
    """An answer to a command, which notifies no one: as text when it fits one message, else
    as embeds, one a section (the heading its title), as many to a message as Discord takes.

    Why: the help and other long answers were four messages of 2,000 characters, each a
    follow-up request of its own (about 1 ms of the bot's CPU apiece, and the asker's screen
    filling up); a message's embeds hold 6,000 characters, so they are one or two.
    """
    mentions: set[int] = set()
    rendered = [_block(b, mentions) for b in message.blocks]
    as_text = _as_text(message, rendered, mentions, None, False)
    if len(as_text) == 1:
        return as_text
    cards: list[Card] = []
    title, texts = "", []

    def close_section() -> None:
        pieces = list(_split("\n\n".join(texts), MAX_EMBED_TEXT)) if texts else []
        if title or pieces:
            cards.append(Card(title, pieces[0] if pieces else ""))
        cards.extend(Card("", piece) for piece in pieces[1:])

    for block, text in zip(message.blocks, rendered, strict=True):
        if isinstance(block, Heading):
            close_section()
            title, texts = _shorten(escape(block.text), MAX_EMBED_TITLE), []
        elif text:
            texts.append(text)
    close_section()
    groups: list[list[Card]] = [[]]
    for card in cards:
        group = groups[-1]
        if group and (
            len(group) == MAX_EMBEDS or sum(c.size for c in group) + card.size > MAX_EMBEDS_CHARS
        ):
            groups.append(group := [])
        group.append(card)
    rules = allowed((), None)
    out = [Rendered("", (), rules, tuple(group)) for group in groups]
    out[-1] = Rendered("", message.actions[:MAX_BUTTONS], rules, out[-1].cards)
    return out


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip("\\") + "…"


def _split(text: str, limit: int = MAX_CONTENT) -> Iterator[str]:
    """Pieces of at most `limit` characters, cut at paragraph, then line, then word breaks."""
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 2:
            cut = max(window.rfind("\n"), cut)
        if cut < limit // 2:
            cut = max(window.rfind(" "), cut)
        if cut < limit // 4:
            cut = limit
        # A cut must not leave a lone backslash escaping the next piece's first character.
        while cut > 1 and text[cut - 1] == "\\":
            cut -= 1
        piece, text = text[:cut].rstrip(), text[cut:].lstrip("\n ")
        if piece:
            yield piece
    if text:
        yield text
