"""communitybot: one community bot for Slack, Discord and the console."""

__version__ = "0.1.0"
