"""What a command or a press answers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.message import Message


@dataclass(frozen=True, slots=True)
class Reply:
    """`public` shares the answer in the channel; otherwise only the asker sees it.

    `replace` (for presses) replaces the message that carried the button, e.g. a preview
    becomes "Posted." once confirmed. `outcome` feeds metrics: ok, rejected, denied, error,
    preview, cancelled. `zone` is the reader's own zone when they set one, for rendering
    times where the platform cannot localise them.
    """

    message: Message
    public: bool = False
    replace: bool = False
    outcome: str = "ok"
    zone: str | None = None
