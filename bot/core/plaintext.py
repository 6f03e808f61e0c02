"""Messages as plain text: the console, and every platform's notification fallback."""

from __future__ import annotations

from bot.core.message import (
    Block,
    Bullets,
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


def inline_text(part: Inline, reader_zone: str | None) -> str:
    match part:
        case Text(text) | Strong(text):
            return text
        case Code(text):
            return f"`{text}`"
        case Mention(member):
            return f"@{member.display_name or member.user_id}"
        case Time(at, zone, _):
            return format_fallback(at, reader_zone or zone)
        case Link(url, label):
            return f"{label} ({url})" if label and label != url else url
    raise AssertionError(part)


def line(parts: tuple[Inline, ...], reader_zone: str | None) -> str:
    return "".join(inline_text(p, reader_zone) for p in parts)


def block_text(block: Block, reader_zone: str | None) -> str:
    match block:
        case Paragraph(parts):
            return line(parts, reader_zone)
        case Heading(text):
            return text
        case Quote(parts):
            return "\n".join(f"> {ln}" for ln in line(parts, reader_zone).splitlines() or [""])
        case Bullets(items):
            return "\n".join(f"  • {line(item, reader_zone)}" for item in items)
    raise AssertionError(block)


def render(message: Message, reader_zone: str | None = None, *, buttons: bool = True) -> str:
    text = "\n".join(block_text(b, reader_zone) for b in message.blocks)
    if buttons and message.actions:
        text += "\n" + "  ".join(f"[{b.label}]" for b in message.actions)
    return text
