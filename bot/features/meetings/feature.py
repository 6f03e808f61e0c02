"""The meetings feature: its `/meeting` commands, delivery kinds, start-up sync and feed route."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.commands import Arg, ArgType, CommandSpec, HomeSection, Permission
from bot.features.meetings import commands, manage, public
from bot.features.meetings.background import keep_up
from bot.features.meetings.config import SECTION, channel_uses
from bot.features.meetings.config_sync import sync_declared
from bot.features.meetings.feed_route import add_routes
from bot.features.meetings.ids import MEETING_ID
from bot.features.meetings.platform_events import keep_events
from bot.features.meetings.reminders import register_kinds
from bot.runtime.feature import Feature, Setup
from bot.runtime.services import Services
from bot.store.meetings import Meeting, MeetingState

GROUP = "meeting"
MEETING = Arg("meeting", MEETING_ID, "the meeting's short id, like community")
DATE = Arg("date", ArgType.DATE, "the occurrence's date in the meeting's zone, YYYY-MM-DD")
FIELDS = (
    Arg("name", ArgType.TEXT, "the meeting's name", required=False, max_length=100),
    Arg(
        "start",
        ArgType.TEXT,
        'first start, "YYYY-MM-DD HH:MM" [zone]',
        required=False,
        max_length=60,
    ),
    Arg("zone", ArgType.ZONE, "the meeting's IANA time zone", required=False),
    Arg(
        "rrule",
        ArgType.TEXT,
        "RFC 5545 rule, like FREQ=MONTHLY;BYDAY=-1TH",
        required=False,
        max_length=300,
    ),
    Arg("duration", ArgType.DURATION, "how long it lasts, like 60m", required=False),
    Arg("join", ArgType.URL, "the link to join", required=False),
    Arg("register", ArgType.URL, "the link to register", required=False),
    Arg("agenda", ArgType.URL, "the link to the agenda document", required=False),
    Arg(
        "description",
        ArgType.TEXT,
        "a few words about the meeting",
        required=False,
        max_length=1000,
    ),
)


async def suggest_meetings(services: Services, typed: str) -> list[str]:
    typed = typed.strip().lower()
    # Keys are lower-case letters, digits and dashes: a typed % or _ matches nothing anyway.
    prefix = "".join(c for c in typed if c.isalnum() or c == "-")
    async with services.db.sessions() as session:
        keys = await session.scalars(
            select(Meeting.key)
            .where(
                Meeting.community_id == services.community_id,
                Meeting.state == MeetingState.ACTIVE,
                Meeting.key.startswith(prefix),
            )
            .order_by(Meeting.key)
            .limit(25)
        )
        return [key for key in keys if key.startswith(typed)]


def register(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    setup.config_section(SECTION)
    setup.on_start(sync_declared)
    setup.deployment_background("meetings background", keep_up)
    setup.routes(add_routes)
    setup.posts_to(channel_uses)
    setup.background("Discord scheduled events", keep_events)
    setup.public_part(public.fill_public)
    registry.group(GROUP, "community meetings: times, reminders, agenda, recaps")
    add = registry.add
    add(
        CommandSpec(
            GROUP,
            ("next",),
            "the next meeting: name, time, links and agenda",
            "/meeting next",
            commands.next_command,
            allow_public=True,
            read_only=True,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("list",),
            "each meeting with its next occurrence; with N, the next N occurrences",
            "/meeting list 5",
            commands.list_command,
            allow_public=True,
            args=(
                Arg(
                    "count",
                    ArgType.INT,
                    "how many occurrences",
                    required=False,
                    min_value=1,
                    max_value=commands.MAX_LISTED,
                ),
            ),
            read_only=True,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("ics",),
            "the calendar feed address to subscribe to in a calendar app",
            "/meeting ics",
            commands.ics_command,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("subscribe",),
            "get a meeting's reminders by direct message",
            "/meeting subscribe community",
            commands.subscribe_command,
            args=(MEETING,),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("unsubscribe",),
            "stop a meeting's reminders by direct message",
            "/meeting unsubscribe community",
            commands.unsubscribe_command,
            args=(MEETING,),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("agenda", "add"),
            "add an item to the agenda of a meeting's next occurrence",
            "/meeting agenda add community Release plans for 2.0",
            commands.agenda_add_command,
            args=(
                MEETING,
                Arg(
                    "text",
                    ArgType.TEXT,
                    "the agenda item",
                    rest=True,
                    max_length=commands.AGENDA_ITEM_MAX,
                ),
            ),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("agenda", "list"),
            "the agenda of a meeting's next occurrence",
            "/meeting agenda list community",
            commands.agenda_list_command,
            args=(MEETING,),
            allow_public=True,
            read_only=True,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("agenda", "remove"),
            "remove an agenda item by its number",
            "/meeting agenda remove community 2",
            commands.agenda_remove_command,
            permission=Permission.MAINTAINER,
            args=(
                MEETING,
                Arg(
                    "item",
                    ArgType.INT,
                    "the item's number in agenda list",
                    min_value=1,
                    max_value=1000,
                ),
            ),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("create",),
            "a new meeting",
            '/meeting create community --name "Community Meeting" --start "2026-12-03 09:00" '
            '--zone America/Los_Angeles --rrule "FREQ=MONTHLY;BYDAY=1TH"',
            manage.create_command,
            permission=Permission.MAINTAINER,
            args=(MEETING,),
            options=FIELDS,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("edit",),
            "change a meeting's fields (the same options as create)",
            '/meeting edit community --start "2026-12-03 10:00"',
            manage.edit_command,
            permission=Permission.MAINTAINER,
            args=(MEETING,),
            options=FIELDS,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("cancel",),
            "cancel a meeting for good",
            "/meeting cancel community",
            manage.cancel_command,
            permission=Permission.MAINTAINER,
            args=(MEETING,),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("skip",),
            "skip one occurrence",
            "/meeting skip community 2026-12-31",
            manage.skip_command,
            permission=Permission.MAINTAINER,
            args=(MEETING, DATE),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("move",),
            "hold one occurrence at another time",
            '/meeting move community 2026-12-31 "2027-01-07 09:00"',
            manage.move_command,
            permission=Permission.MAINTAINER,
            args=(
                MEETING,
                DATE,
                Arg("time", ArgType.DATETIME, 'the new time, "YYYY-MM-DD HH:MM" [zone]'),
            ),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("recap",),
            "post the recording (and notes) of the last occurrence",
            "/meeting recap community https://example.org/recording Thanks all!",
            manage.recap_command,
            permission=Permission.MAINTAINER,
            args=(
                MEETING,
                Arg("url", ArgType.URL, "the recording's link"),
                Arg("notes", ArgType.TEXT, "notes", required=False, rest=True, max_length=2000),
            ),
        )
    )
    registry.completer(MEETING_ID, suggest_meetings)
    registry.home_section(HomeSection("Next meeting", "meeting next"))
    register_kinds(kinds)


FEATURE = Feature("meetings", register)
