"""The messages heroes show: the maintainers' nomination list and the Hero announcement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.invocation import MemberRef, Platform
from bot.core.message import (
    Block,
    Button,
    ButtonStyle,
    Code,
    Heading,
    Inline,
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
from bot.core.wording import counted
from bot.features.heroes.cycles import Cycle
from bot.store.heroes import Decision, HeroHallEntry, NominationRow
from bot.store.members import MemberRow
from bot.store.models import Member

ACTION = "hero"
# Three buttons per nominee; Slack and Discord both stop at 25 buttons a message.
BUTTON_NOMINEES = 8
LISTED_NOMINEES = 50
QUOTED_REASONS = 5
REVIEW_VERBS = {
    "shortlist": Decision.SHORTLISTED,
    "approve": Decision.APPROVED,
    "reject": Decision.REJECTED,
}


def member_ref(member: Member | MemberRow) -> MemberRef:
    return MemberRef(
        Platform(member.platform), member.platform_user_id, member.display_name, member.is_bot
    )


def name_of(member: Member | MemberRow) -> str:
    return member.display_name or member.platform_user_id


def nominator_label(row: NominationRow) -> str:
    return "anonymous" if row.nomination.anonymous else name_of(row.nominator)


@dataclass
class Nominee:
    """One nominated person (their linked accounts are one nominee), shown as `member`."""

    member: Member
    rows: list[NominationRow] = field(default_factory=list)

    @property
    def nominators(self) -> int:
        """Distinct nominating persons: nominating from two linked accounts counts once."""
        return len({r.nominator.person_id for r in self.rows})

    def status(self, reviews: dict[int, str]) -> str | None:
        return next((reviews[r.nominee.id] for r in self.rows if r.nominee.id in reviews), None)


def group_by_nominee(rows: Sequence[NominationRow]) -> list[Nominee]:
    """Nominees with the most nominators first; ties by who was nominated first."""
    groups: dict[int, Nominee] = {}
    for row in rows:
        groups.setdefault(row.nominee.person_id, Nominee(row.nominee)).rows.append(row)
    return sorted(groups.values(), key=lambda g: -g.nominators)


def review_buttons(cycle: Cycle, nominee: Member | MemberRow) -> list[Button]:
    who = name_of(nominee)[:40]
    return [
        Button(f"{ACTION}:shortlist:{cycle.key}:{nominee.id}", f"Shortlist {who}"),
        Button(f"{ACTION}:approve:{cycle.key}:{nominee.id}", f"Approve {who}", ButtonStyle.PRIMARY),
        Button(f"{ACTION}:reject:{cycle.key}:{nominee.id}", f"Reject {who}", ButtonStyle.DANGER),
    ]


def nominations_list(
    cycle: Cycle,
    rows: Sequence[NominationRow],
    reviews: dict[int, str],
    hero: HeroHallEntry | None,
    now: datetime,
    zone: str,
    review_label: str,
    notice: Sequence[Inline | str] = (),
) -> Message:
    """The maintainers' view of a cycle: nominees, how many nominated each, and why."""
    blocks: list[Block] = []
    if notice:
        blocks.append(para(*notice))
    blocks.append(Heading(f"Community Hero nominations for {cycle.title} ({cycle.key})"))
    if hero is not None:
        blocks.append(para("The Hero was announced: ", Strong(hero.display_name), "."))
    elif now < cycle.closes_at:
        blocks.append(para("Nominations are open until ", Time(cycle.open_until, zone), "."))
    else:
        blocks.append(para("Nominations closed ", Time(cycle.closes_at, zone), "."))
    nominees = group_by_nominee(rows)
    if not nominees:
        blocks.append(para("No nominations yet."))
        return message(*blocks)
    blocks.append(
        para(f"{counted(len(rows), 'nomination')} of {counted(len(nominees), 'member')}:")
    )
    buttons: list[Button] = []
    for index, nominee in enumerate(nominees[:LISTED_NOMINEES]):
        count = nominee.nominators
        status = nominee.status(reviews)
        blocks.append(
            para(
                Mention(member_ref(nominee.member)),
                f" — {count} nominator{'s' if count != 1 else ''}",
                f" — {status}" if status else " — not reviewed yet",
            )
        )
        blocks.append(
            bullets([Text(r.nomination.reason), f" — {nominator_label(r)}"] for r in nominee.rows)
        )
        if hero is None and index < BUTTON_NOMINEES:
            buttons += review_buttons(cycle, nominee.member)
    if len(nominees) > LISTED_NOMINEES:
        blocks.append(para(f"…and {len(nominees) - LISTED_NOMINEES} more nominees."))
    if hero is None and len(nominees) > BUTTON_NOMINEES:
        blocks.append(
            para(
                f"Buttons cover the first {BUTTON_NOMINEES} nominees; review the others with ",
                Code(f"{review_label} @name approve {cycle.key}"),
                ".",
            )
        )
    return message(*blocks, actions=buttons)


def announcement(
    cycle: Cycle,
    hero: MemberRef,
    text: str | None,
    rows: Sequence[NominationRow],
    nominate_label: str,
) -> Message:
    """The post in every announce channel: mentions the Hero, quotes non-anonymous reasons."""
    blocks: list[Block] = [
        Heading(f"Community Hero — {cycle.title}"),
        para("Our Community Hero for ", Strong(cycle.title), " is ", Mention(hero), "!"),
    ]
    if text:
        blocks.append(quote(text))
    public = [r for r in rows if not r.nomination.anonymous]
    if public:
        blocks.append(para("What people said in their nominations:"))
        for row in public[:QUOTED_REASONS]:
            blocks.append(quote(row.nomination.reason, f" — {name_of(row.nominator)}"))
    blocks.append(
        para(
            "Thank you! Who is your Community Hero? Nominate them with ",
            Code(f"{nominate_label} @name <why>"),
            ".",
        )
    )
    return message(*blocks)


def hall_entry_line(entry: HeroHallEntry, title: Callable[[str], str]) -> list[Inline | str]:
    """A Hero as their platform shows them while the account lives, else the name snapshot.

    Only the maintainer's own announcement message follows the name: `citation` may hold a
    nominator's reason, which nominators write for the reviewers, so the hall never shows it.
    """
    who: Inline = (
        Text(entry.display_name)
        if entry.member_id is None
        else Mention(
            MemberRef(Platform(entry.platform), entry.platform_user_id, entry.display_name)
        )
    )
    line: list[Inline | str] = [Strong(title(entry.cycle)), " — ", who]
    if entry.message:
        line += [": ", Text(entry.message)]
    return line
