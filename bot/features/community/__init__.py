"""/communitybot: help, a member's time zone, the audit log, a created community's set-up."""
