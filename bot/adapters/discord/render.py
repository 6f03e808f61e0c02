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
# 80 characters per button label; 100 per custom_id.
MAX_CONTENT = 2000
MAX_BUTTONS = 25
MAX_LABEL = 80
MAX_CUSTOM_ID = 100

_LINE_START = re.compile(r"^(\s*)([#>\-*+]|\d+\.)", re.MULTILINE)
_MASS = re.compile(r"@(everyone|here)")


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
class Rendered:
    """One Discord message: content, buttons, and exactly who it may ping."""

    content: str
    buttons: tuple[Button, ...]
    allowed_mentions: discord.AllowedMentions

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
    role = ping_role if message.ping else None
    if role is not None:
        texts.insert(0, f"<@&{role}>")
    chunks = list(_split("\n\n".join(t for t in texts if t))) or [""]
    if not chunks[-1] and not message.actions:
        chunks[-1] = "\u200b"  # Discord refuses an empty message
    rules = allowed(mentions if ping_members else (), role)
    out = [Rendered(c, (), rules) for c in chunks]
    out[-1] = Rendered(out[-1].content or "\u200b", message.actions[:MAX_BUTTONS], rules)
    return out


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
