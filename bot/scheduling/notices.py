"""Telling maintainers that a scheduled message could not be sent.

The notice is itself a delivery (kind `maintainer_notice`) to the platform's
`maintainer_channel`, so it is retried like any other and survives a restart. Its text is
fixed when the failure happens and rendered as plain text, so it is also the one generic
built-in kind: any row of this kind posts the `text` of its payload, however late.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.core.invocation import Platform
from bot.core.message import Message, para
from bot.core.targets import Target
from bot.core.wording import counted
from bot.scheduling.kinds import SendContext
from bot.scheduling.queue import Planned
from bot.scheduling.targets import maintainer_target
from bot.store.models import Delivery

NOTICE_KIND = "maintainer_notice"
REASON_MAX = 300


async def render_notice(ctx: SendContext, row: Delivery) -> Message | None:
    del ctx
    text = str(row.payload.get("text", "")).strip()
    return Message((para(text),)) if text else None


def failure_notice(settings: Settings, row: Delivery, reason: str, now: datetime) -> Planned | None:
    """The notice for a failed delivery, or None when there is no one to tell."""
    if row.kind == NOTICE_KIND:
        return None  # a notice that cannot be sent is logged; noticing it would loop
    target = maintainer_target(settings, Platform(row.platform))
    if target is None or str(target) == row.target:
        return None
    where = describe(Target.parse(row.target))
    what = row.kind.replace("_", " ")
    return Planned(
        NOTICE_KIND,
        f"delivery:{row.id}",
        "failed",
        target,
        now,
        {
            "text": f"A scheduled {what} ({row.subject}, {row.occurrence}) to {where} could not "
            f"be sent after {counted(row.attempts, 'attempt')}: {reason[:REASON_MAX]}"
        },
    )


def describe(target: Target) -> str:
    if target.kind == "dm":
        return f"a direct message to {target.platform} user {target.id}"
    return f"{target.platform} channel {target.id}"
