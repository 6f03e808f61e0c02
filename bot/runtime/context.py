"""The context a handler runs in: who asked, where, the typed arguments and one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Actor, MemberRef, Place
from bot.runtime.permissions import is_maintainer
from bot.runtime.services import Services
from bot.store.members import MemberKey, MemberRow, ensure_member, named_workspace
from bot.store.models import AuditEntry

# The session's list of what to run once it has committed (see Context.after_commit).
AFTER_COMMIT = "communitybot.after_commit"

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.commands import CommandSpec


@dataclass(slots=True)
class Context:
    services: Services
    actor: Actor
    place: Place
    session: AsyncSession
    member: MemberRow
    now: datetime
    spec: CommandSpec | None = None
    args: dict[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    public: bool = False
    # The members this transaction has already read (see members_seen_in).
    seen: dict[MemberKey, MemberRow | None] = field(default_factory=dict)
    _audited: bool = False

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def community_id(self) -> int:
        return self.services.community_id

    @property
    def zone(self) -> str:
        """The asker's zone if they set one, else the community's."""
        return self.member.timezone or self.settings.community.timezone

    @property
    def is_maintainer(self) -> bool:
        return is_maintainer(self.actor, self.settings)

    def label(self, name: str) -> str:
        """A command name as the asker types it on their platform."""
        return self.services.command_label(self.actor.platform, name)

    async def member_for(self, ref: MemberRef) -> MemberRow:
        return await ensure_member(
            self.session,
            self.community_id,
            ref,
            self.now,
            workspace=named_workspace(self.place, ref),
            seen=self.seen,
        )

    def after_commit(self, then: Callable[[], object]) -> None:
        """Run `then` once this command's transaction has committed (never if it failed)."""
        self.session.info.setdefault(AFTER_COMMIT, []).append(then)

    def audit(self, action: str, detail: str = "", outcome: str = "ok") -> None:
        """Record a maintainer action in this transaction (so it exists only if the action does)."""
        self._audited = True
        self.session.add(
            audit_entry(
                self.community_id,
                self.now,
                self.member,
                self.actor,
                self.place,
                action,
                detail,
                outcome,
            )
        )


def audit_entry(
    community_id: int,
    at: datetime,
    member: MemberRow,
    actor: Actor,
    place: Place,
    action: str,
    detail: str,
    outcome: str,
) -> AuditEntry:
    """One audit-log row: who (member and display name), what, where, when, how it ended."""
    return AuditEntry(
        community_id=community_id,
        at=at,
        member_id=member.id,
        platform=str(actor.platform),
        actor_name=actor.display_name or actor.user_id,
        action=action[:100],
        detail=detail[:2000],
        place="direct message" if place.is_dm else place.channel_id,
        outcome=outcome,
    )
