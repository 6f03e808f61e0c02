"""The features, in the order their commands appear in help."""

from bot.features import community, surveys
from bot.features.base import Feature
from bot.features.meetings.feature import FEATURE as MEETINGS

FEATURES: tuple[Feature, ...] = (
    community.FEATURE,
    MEETINGS,
    surveys.FEATURE,
)
