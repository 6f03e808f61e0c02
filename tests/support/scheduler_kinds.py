"""Generic delivery kinds that exist only in tests, added with App(extra_features=...).

- `test_ping`: a "starts soon" style reminder; skipped when more than 10 minutes late.
- `test_news`: goes out however late, and says so when it is more than 5 minutes late.
- `test_edit`: edits the post another delivery made (payload `ref`).
Each posts the payload's `text`; a payload with `"gone": true` renders None (no longer
applies), as a cancelled meeting's reminder would; `"bug": true` makes render raise.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.message import Message, para
from bot.runtime.feature import Feature, Setup
from bot.scheduling.kinds import DeliveryKind, EditPosted, SendContext
from bot.store.models import Delivery

PING = "test_ping"
NEWS = "test_news"
EDIT = "test_edit"
PING_MAX_LATENESS = timedelta(minutes=10)


async def _render(ctx: SendContext, row: Delivery) -> Message | None:
    if row.payload.get("gone"):
        return None
    if row.payload.get("bug"):
        raise RuntimeError("a bug in rendering")
    text = str(row.payload.get("text", f"{row.kind} {row.subject}"))
    if ctx.late:
        text += f" (sent late: it was due {row.due_at:%Y-%m-%d %H:%M} UTC)"
    return Message((para(text),))


async def _render_edit(ctx: SendContext, row: Delivery) -> EditPosted | None:
    del ctx
    return EditPosted(str(row.payload["ref"]), Message((para(str(row.payload["text"])),)))


def _register(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    del registry
    kinds.add(DeliveryKind(PING, _render, max_lateness=PING_MAX_LATENESS))
    kinds.add(DeliveryKind(NEWS, _render))
    kinds.add(DeliveryKind(EDIT, _render_edit))


SCHEDULER_TESTING = Feature("scheduler-testing", _register)
