"""The features, in the order their commands appear in help."""

from bot.features.announcements.feature import FEATURE as ANNOUNCEMENTS
from bot.features.community.feature import FEATURE as COMMUNITY
from bot.features.heroes.feature import FEATURE as HEROES
from bot.features.identity.feature import FEATURE as IDENTITY
from bot.features.meetings.feature import FEATURE as MEETINGS
from bot.features.page.feature import FEATURE as PAGE
from bot.features.surveys.feature import FEATURE as SURVEYS
from bot.runtime.feature import Feature

# IDENTITY adds its commands to COMMUNITY's group, so it comes right after it.
FEATURES: tuple[Feature, ...] = (
    COMMUNITY,
    IDENTITY,
    MEETINGS,
    ANNOUNCEMENTS,
    HEROES,
    SURVEYS,
    PAGE,
)
