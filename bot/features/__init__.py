"""The features, in the order their commands appear in help."""

from bot.features import community
from bot.features.base import Feature

FEATURES: tuple[Feature, ...] = (community.FEATURE,)
