"""Small helpers for the words of replies."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 nomination`, `2 nominations`, `0 members`: never `nomination(s)`."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"
