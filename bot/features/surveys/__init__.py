"""Surveys: campaigns with personal tracked links, reminders to those who have not opened them."""
