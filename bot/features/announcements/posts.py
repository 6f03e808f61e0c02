"""Delivery kinds of announcements: each copy's post, its edits and its removal.

Everything is decided at send time from the database, so a copy that has not gone out yet
simply goes out as the announcement is now (edited, or not at all once cancelled/deleted),
and an edit or delete waits while its copy is still being posted.
"""

from __future__ import annotations

from bot.core.message import Message, Paragraph, Text
from bot.core.ports import DeliveryError
from bot.scheduling.kinds import DeletePosted, DeliveryKind, EditPosted, KindRegistry, SendContext
from bot.store import announcements as store
from bot.store.announcements import Announcement, AnnouncementState
from bot.store.models import Delivery, DeliveryState


def body(announcement: Announcement) -> Message:
    """The post itself: the maintainer's words, as user text, pinging only if asked to."""
    # Text parts only: adapters escape them, so nothing typed can become a mention.
    return Message((Paragraph((Text(announcement.text),)),), ping=announcement.ping)


async def _announcement(ctx: SendContext, row: Delivery) -> Announcement | None:
    ident = store.id_of(row.subject)
    if ident is None:
        return None
    return await store.get(ctx.session, row.community_id, ident)


async def render_post(ctx: SendContext, row: Delivery) -> Message | None:
    announcement = await _announcement(ctx, row)
    if announcement is None or announcement.state != AnnouncementState.ACTIVE:
        return None
    return body(announcement)


async def _posted_ref(ctx: SendContext, row: Delivery) -> str | None:
    """The message_ref of this target's copy; None when that copy never went out."""
    copy = await store.copy_at(ctx.session, row.subject, row.target)
    if copy is None:
        return None
    if copy.state == DeliveryState.CLAIMED:
        # It is being sent right now, perhaps with the old text: try again once it is done.
        raise DeliveryError("the announcement is still being posted here", permanent=False)
    if copy.state != DeliveryState.SENT or not copy.message_ref:
        # Pending copies render the current text when they go out; failed ones have no post.
        return None
    return copy.message_ref


async def render_edit(ctx: SendContext, row: Delivery) -> EditPosted | None:
    announcement = await _announcement(ctx, row)
    if announcement is None or announcement.state != AnnouncementState.ACTIVE:
        return None
    if announcement.version > int(row.payload.get("version", 0)):
        return None  # a later edit of the same copy carries the newest text
    ref = await _posted_ref(ctx, row)
    return EditPosted(ref, body(announcement)) if ref else None


async def render_delete(ctx: SendContext, row: Delivery) -> DeletePosted | None:
    ref = await _posted_ref(ctx, row)
    return DeletePosted(ref) if ref else None


def register_kinds(kinds: KindRegistry) -> None:
    # Announcements go out however late (after downtime the news is still news); render
    # refuses those that were cancelled or deleted meanwhile.
    kinds.add(DeliveryKind(store.ANNOUNCE_KIND, render_post))
    kinds.add(DeliveryKind(store.EDIT_KIND, render_edit))
    kinds.add(DeliveryKind(store.DELETE_KIND, render_delete))
