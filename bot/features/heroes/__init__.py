"""/hero: Community Hero nominations, review, announcement and the hall of fame."""
