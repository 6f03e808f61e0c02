"""How meetings and occurrences read in messages: names, times each reader sees locally, links."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.message import Bullets, Inline, Link, Paragraph, Strong, Text, Time, bullets, para
from bot.features.meetings.recurrence import Occurrence
from bot.store.meetings import AgendaItem, Meeting


def when(meeting: Meeting, occurrence: Occurrence, *, relative: bool = False) -> Time:
    """The start as a Time part: each reader's own zone where the platform can show it."""
    return Time(occurrence.start, zone=meeting.timezone, relative=relative)


def headline(meeting: Meeting, occurrence: Occurrence) -> list[Inline]:
    parts: list[Inline] = [Strong(meeting.name), Text(" — "), when(meeting, occurrence)]
    if occurrence.moved:
        parts.append(Text(f" (moved from {occurrence.key})"))
    return parts


def link_parts(meeting: Meeting, *, join: bool = True, register: bool = True) -> list[Inline]:
    """`Join: <url> · Register: <url>`, leaving out what the meeting does not have."""
    found: list[tuple[str, str]] = []
    if join and meeting.join_url:
        found.append(("Join", meeting.join_url))
    if register and meeting.register_url:
        found.append(("Register", meeting.register_url))
    if meeting.agenda_url:
        found.append(("Agenda document", meeting.agenda_url))
    parts: list[Inline] = []
    for label, url in found:
        if parts:
            parts.append(Text(" · "))
        parts += [Text(f"{label}: "), Link(url)]
    return parts


def links_paragraph(meeting: Meeting, **which: bool) -> list[Paragraph]:
    parts = link_parts(meeting, **which)
    return [para(*parts)] if parts else []


def agenda_block(items: Sequence[AgendaItem]) -> list[Paragraph | Bullets]:
    if not items:
        return [para("No agenda items yet.")]
    return [
        para("Agenda:"),
        bullets([[Text(f"{number}. {item.text}")] for number, item in enumerate(items, 1)]),
    ]
