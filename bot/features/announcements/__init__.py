"""Announcements: one maintainer post reaching every announce channel on every platform."""
