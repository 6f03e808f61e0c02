"""The foundation's tables. Features keep theirs in bot/store/<feature>.py on the same Base."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class CommunityOrigin(StrEnum):
    CONFIG = "config"  # declared in the config file, which owns its settings
    SLACK = "slack"  # created when a workspace installed the bot (open_installs)
    DISCORD = "discord"  # created when the bot joined a guild (open_installs)


class Community(Base):
    """A community of the deployment; every other row belongs to one."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(
        String(16), default=CommunityOrigin.CONFIG, server_default=CommunityOrigin.CONFIG
    )
    # The team id or guild id a created community was made for (None for config ones).
    place_id: Mapped[str | None] = mapped_column(String(64))
    # False once the bot was uninstalled from (or removed from) a created community's place.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Places ("slack:T012…", "discord:1234…") the bot was removed from while a config
    # community lists them: their sends stop until the bot is back.
    left_places: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # What a created community's maintainers set by command (bot.config.OwnSettings).
    own_settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    updated_at: Mapped[datetime | None]
    # Bumped by each change above, so other replicas reload only what changed (a counter,
    # not a time: two changes in one instant, or replicas whose clocks differ, still count).
    revision: Mapped[int] = mapped_column(default=0, server_default="0")


class Person(Base):
    """A human, who may be a member on several platforms (linked with /communitybot link)."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    # When the person last set their zone (kept on every account): linking keeps the latest.
    timezone_set_at: Mapped[datetime | None]


class Member(Base):
    """Someone on one platform, keyed by (platform, workspace, platform user id)."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("community_id", "platform", "workspace", "platform_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    # The Slack team id: Slack user ids are unique only within their workspace. '' on Discord
    # and the console (global ids), and on rows from before migration 0011 until first seen.
    workspace: Mapped[str] = mapped_column(String(32), default="", server_default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)
    # Set when they used a command themselves: only such members may get personal nudges.
    known: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AuditEntry(Base):
    """A maintainer action (or a refused attempt at one): who, what, where, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_community_at", "community_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")


class InboundEvent(Base):
    """Platform event/interaction ids already handled, so redeliveries have one effect."""

    __tablename__ = "inbound_events"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Confirmation(Base):
    """A previewed command waiting for its asker to press confirm or cancel."""

    __tablename__ = "confirmations"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class DeliveryState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Delivery(Base):
    """One scheduled message to one target; the database, not the timer, is the truth."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # Per community: two communities may post the same thing to one target (a shared channel).
        UniqueConstraint("kind", "subject", "occurrence", "target", "community_id"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # Retention: finished rows by age (bot/scheduling/retention.py).
        Index("ix_deliveries_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    occurrence: Mapped[str] = mapped_column(String(64))
    # "<platform>:<channel|dm>:<id>", e.g. "slack:channel:C012ABCDEF".
    target: Mapped[str] = mapped_column(String(120))
    platform: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_ref: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BotState(Base):
    """Small named values the bot keeps (e.g. the hash of the last synced Discord commands)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
