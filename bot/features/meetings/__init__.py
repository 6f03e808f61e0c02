"""Meetings: recurring community meetings, reminders, agenda, recap and calendar feed."""
