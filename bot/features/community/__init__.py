"""/communitybot: help, a member's time zone, the audit log."""
