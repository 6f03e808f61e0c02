"""Imports every module that defines tables, so Base.metadata holds the whole schema.

Alembic's env and the schema test import this; a feature adds its module here.
"""

from bot.store import (
    announcements,
    heroes,
    identity,
    meeting_events,
    meetings,
    models,
    slack_installs,
    surveys,
)
from bot.store.models import Base

__all__ = [
    "Base",
    "announcements",
    "heroes",
    "identity",
    "meeting_events",
    "meetings",
    "models",
    "slack_installs",
    "surveys",
]
