"""The public community page at GET /: next meetings, Heroes, surveys, recordings."""
