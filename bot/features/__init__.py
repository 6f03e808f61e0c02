"""The features, in the order their commands appear in help."""

from bot.features import announcements, community, heroes, surveys
from bot.features.base import Feature
from bot.features.meetings.feature import FEATURE as MEETINGS

FEATURES: tuple[Feature, ...] = (
    community.FEATURE,
    MEETINGS,
    announcements.FEATURE,
    heroes.FEATURE,
    surveys.FEATURE,
)
