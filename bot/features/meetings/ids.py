"""A meeting's short id (`community`, `apac-hours`): the rule shared by config and commands."""

from __future__ import annotations

import re

from bot.core.commands import ValueType
from bot.core.errors import UserError

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
ID_RULE = "lower-case letters, digits and dashes, like community"


def is_meeting_id(text: str) -> bool:
    return bool(_ID.match(text))


def parse_meeting_id(text: str) -> str:
    key = text.strip().lower()
    if not is_meeting_id(key):
        raise UserError(
            f"“{text[:40]}” is not a meeting id; ids look like community or apac-hours."
        )
    return key


# The argument type of every `<meeting>`; its suggestions are added where the feature registers.
MEETING_ID = ValueType("meeting", parse_meeting_id, max_length=40)
