"""parse → check → handler → Reply. Every way a command can fail becomes one answer here."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot import metrics
from bot.core import argtypes, grammar
from bot.core.argtypes import MemberParser
from bot.core.audit_text import audit_value
from bot.core.commands import ArgType, CommandSpec, Permission, Visibility
from bot.core.errors import PermissionDenied, UserError
from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform, Press
from bot.core.message import Button, ButtonStyle, Message, para
from bot.core.replies import Reply
from bot.runtime.context import AFTER_COMMIT, Context, audit_entry
from bot.runtime.drain import RESTARTING, CommandGate
from bot.runtime.permissions import is_maintainer
from bot.runtime.services import Services
from bot.scheduling.queue import enqueued
from bot.store.inbound import first_arrival_in
from bot.store.members import (
    MemberKey,
    MemberRow,
    ensure_member,
    ensure_member_in,
    find_member,
    members_seen_in,
    named_workspace,
    stand_in,
    workspace_of,
    zone_of,
)
from bot.store.models import Confirmation

log = logging.getLogger(__name__)

CONFIRM_TTL = timedelta(minutes=30)
CONFIRM, CANCEL = "confirm", "cancel"


def _apology(error_id: str) -> Reply:
    return Reply(
        Message.text(
            f"Sorry, something went wrong on my side (error id {error_id}); "
            "the maintainers can look it up in the bot's logs."
        ),
        outcome="error",
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """An invocation matched to its spec, before any work: what Discord must know up front."""

    spec: CommandSpec
    raw: Mapping[str, object]

    @property
    def public(self) -> bool:
        """Whether a successful answer goes to the channel."""
        return self.spec.visibility is Visibility.PUBLIC or (
            self.spec.allow_public and bool(self.raw.get("public"))
        )


class Dispatcher:
    """The one path from an adapter's Invocation or Press to a Reply.

    Both entry points go through one skeleton (`_answer`): the drain gate, metrics, the
    refusal audit and the apology for a bug. The work itself runs in one transaction that
    loads the member once; the Reply carries the reader's zone, so adapters never ask again.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.gate = CommandGate()
        self.member_parsers: dict[Platform, MemberParser] = {
            Platform.CONSOLE: argtypes.console_member
        }

    # -- entry points --

    def prepare(self, inv: Invocation, subject: Subject | None = None) -> Prepared:
        """Match `inv` to its spec and check permission first; or a UserError.

        `subject` learns the spec's name as soon as it is known (for metrics and the audit).
        """
        subject = subject or Subject(inv.command)
        # The community first: a workspace or guild of none is told so, whatever it typed.
        services = self.services.for_place(inv.place)
        registry = services.registry
        group = registry.groups.get(inv.command)
        if group is None:
            raise UserError(f"I don't know /{inv.command[:40]}; try /communitybot help.")
        if inv.text is None:
            spec = registry.find(inv.command, inv.path)
            if spec is None:
                raise UserError(f"I don't know /{' '.join((inv.command, *inv.path))[:60]}.")
            subject.name = spec.name
            self._check_permission(services, inv.actor, spec.permission, self._label(inv, spec))
            return Prepared(spec, dict(inv.options))
        slack = inv.actor.platform is Platform.SLACK
        try:
            parsed = grammar.parse(group, inv.text, slack=slack)
        except UserError:
            # Someone who may not use the command hears that, not how to type it.
            try:
                spec = grammar.find_spec(group, inv.text, slack=slack)[0]
            except UserError:
                spec = None
            if spec is not None:
                subject.name = spec.name
                self._check_permission(services, inv.actor, spec.permission, self._label(inv, spec))
            raise
        subject.name = parsed.spec.name
        self._check_permission(
            services, inv.actor, parsed.spec.permission, self._label(inv, parsed.spec)
        )
        return Prepared(parsed.spec, parsed.raw)

    async def handle(self, inv: Invocation, prepared: Prepared | None = None) -> Reply:
        subject = Subject(prepared.spec.name if prepared else inv.command)

        async def work() -> Reply:
            await self.locate(inv.place)
            ready = prepared or self.prepare(inv, subject)
            return await self._run(inv, ready, confirm_token=None)

        return await self._answer(subject, inv.actor, inv.place, work)

    async def press(self, press: Press) -> Reply:
        kind, _, rest = press.action_id.partition(":")

        async def work() -> Reply:
            await self.locate(press.place)
            if kind in (CONFIRM, CANCEL):
                return await self._confirmation(press, kind, rest)
            return await self._action(press, kind, rest)

        return await self._answer(Subject(f"button {kind}"), press.actor, press.place, work)

    async def locate(self, place: Place) -> None:
        """Make sure the community of `place` is known here, when another replica created it
        a moment ago (a dictionary read when it is known); adapters that `prepare` before
        `handle` call this first."""
        if self.services.communities is not None:
            await self.services.communities.locate(place)

    async def _answer(
        self,
        subject: Subject,
        actor: Actor,
        place: Place,
        work: Callable[[], Awaitable[Reply]],
    ) -> Reply:
        """The skeleton both entry points share."""
        platform = str(actor.platform)
        if not self.gate.enter():
            metrics.COMMANDS.labels(subject.name, platform, "unavailable").inc()
            return Reply(Message.text(RESTARTING), outcome="unavailable")
        started = time.perf_counter()
        try:
            reply = await work()
        except UserError as exc:
            if isinstance(exc, PermissionDenied):
                await self._audit_refusal(actor, place, subject.name)
            reply = Reply(Message.text(exc.sentence), outcome=exc.outcome)
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("%s failed (error id %s)", subject.described, error_id)
            reply = _apology(error_id)
        finally:
            self.gate.leave()
        metrics.COMMANDS.labels(subject.name, platform, reply.outcome).inc()
        metrics.COMMAND_DURATION.labels(platform).observe(time.perf_counter() - started)
        return reply

    # -- the work --

    def _label(self, inv: Invocation, spec: CommandSpec) -> str:
        return self.services.for_place(inv.place).command_label(inv.actor.platform, spec.name)

    @staticmethod
    def _check_permission(
        services: Services, actor: Actor, permission: Permission, what: str
    ) -> None:
        # Maintainers are the community's own (its settings), never another community's.
        if permission is Permission.MAINTAINER and not is_maintainer(actor, services.settings):
            raise PermissionDenied(f"Only maintainers can use {what}.")

    async def _run(self, inv: Invocation, ready: Prepared, confirm_token: str | None) -> Reply:
        services = self.services.for_place(inv.place)
        spec = ready.spec
        zone = services.settings.community.timezone
        if any(a.type is ArgType.DATETIME for a in (*spec.args, *spec.options)):
            zone = await self._zone_of(services, inv.actor, inv.place) or zone
        # Arguments are resolved (URL look-ups included) before the transaction opens, so no
        # write lock is held while waiting on the network.
        args = await argtypes.resolve(
            spec,
            ready.raw,
            platform=inv.actor.platform,
            member_parser=self.member_parsers.get(inv.actor.platform),
            urls=services.urls,
            zone=zone,
        )
        confirmed = confirm_token is not None or bool(args.get("yes"))
        public = spec.visibility is Visibility.PUBLIC or (
            spec.allow_public and bool(args.get("public"))
        )

        async def body(ctx: Context) -> Reply:
            if confirm_token is not None:
                gone = await ctx.session.execute(
                    delete(Confirmation).where(Confirmation.token == confirm_token)
                )
                if not gone.rowcount:  # type: ignore[attr-defined]
                    raise UserError("That was already confirmed or cancelled.")
            if spec.confirm is not None and not confirmed:
                return await self._preview(ctx, inv)
            result = await spec.handler(ctx)
            reply = result if isinstance(result, Reply) else Reply(result, public=public)
            if spec.permission is Permission.MAINTAINER and spec.audited and not ctx._audited:
                ctx.audit(self._label(inv, spec), _describe(spec, args))
            return reply

        if spec.reads_nothing:
            return await self._unstored(
                inv.actor, inv.place, body, spec=spec, args=args, public=public
            )
        if spec.read_only and spec.confirm is None:
            return await self._read(inv.actor, inv.place, body, spec=spec, args=args, public=public)
        return await self._transaction(
            inv.actor,
            inv.place,
            inv.dedup_key,
            body,
            spec=spec,
            args=args,
            confirmed=confirmed,
            public=public,
        )

    async def _action(self, press: Press, kind: str, rest: str) -> Reply:
        services = self.services.for_place(press.place)
        action = services.registry.actions.get(kind)
        if action is None:
            raise UserError("That button no longer does anything.")
        self._check_permission(services, press.actor, action.permission, "that button")

        async def body(ctx: Context) -> Reply:
            result = await action.handler(ctx, rest)
            return result if isinstance(result, Reply) else Reply(result, replace=True)

        return await self._transaction(press.actor, press.place, press.dedup_key, body)

    async def _transaction(
        self,
        actor: Actor,
        place: Place,
        dedup_key: str | None,
        body: Callable[[Context], Awaitable[Reply]],
        **context: Any,
    ) -> Reply:
        """Run `body` in one transaction with the member loaded; wake the timer after commit."""
        services = self.services.for_place(place)
        # The asker and everyone the command names, read in one query.
        wanted = [(actor.ref, workspace_of(place))]
        for value in context.get("args", {}).values():
            if isinstance(value, MemberRef):
                wanted.append((value, named_workspace(place, value)))
        async with services.db.session() as session:
            now = services.clock()
            opened = await session.run_sync(
                _open, services.community_id, actor, place, dedup_key, wanted, now
            )
            if opened is None:
                log.info("%s: already handled (a redelivery or a replay)", str(dedup_key)[:40])
                return Reply(Message.text("Already handled."), outcome="duplicate")
            member, seen = opened
            ctx = Context(services, actor, place, session, member, now, seen=seen, **context)
            reply = await body(ctx)
            reply = replace(reply, zone=member.timezone)
            wake = enqueued(session)
        for then in session.info.pop(AFTER_COMMIT, ()):
            then()
        if wake:
            # Only now, after the commit, can the timer see the new rows.
            services.wake()
        return reply

    async def _read(
        self,
        actor: Actor,
        place: Place,
        body: Callable[[Context], Awaitable[Reply]],
        **context: Any,
    ) -> Reply:
        """Run a read-only command's `body` in a read snapshot: no write, no lock, no dedup
        (answering a redelivered read again changes nothing)."""
        services = self.services.for_place(place)
        async with services.db.reads() as session:
            now = services.clock()
            member = await find_member(
                session, services.community_id, actor.ref, workspace=workspace_of(place)
            )
            ctx = Context(services, actor, place, session, member, now, **context)
            reply = await body(ctx)
        return replace(reply, zone=member.timezone)

    async def _unstored(
        self,
        actor: Actor,
        place: Place,
        body: Callable[[Context], Awaitable[Reply]],
        **context: Any,
    ) -> Reply:
        """Run the body of a command that reads nothing (the help): no round trip at all. The
        session is there for the Context's shape; an AsyncSession takes a connection only when
        a statement runs, and none does."""
        services = self.services.for_place(place)
        async with services.db.reads() as session:
            member = stand_in(services.community_id, actor.ref, workspace=workspace_of(place))
            ctx = Context(services, actor, place, session, member, services.clock(), **context)
            return await body(ctx)

    async def _zone_of(self, services: Services, actor: Actor, place: Place) -> str | None:
        """The zone this person set, if any (for the times they type, before the transaction)."""
        async with services.db.reads() as session:
            return await zone_of(
                session,
                services.community_id,
                str(actor.platform),
                actor.user_id,
                workspace_of(place),
            )

    async def _preview(self, ctx: Context, inv: Invocation) -> Reply:
        assert ctx.spec is not None and ctx.spec.confirm is not None
        preview = await ctx.spec.confirm(ctx)
        token = secrets.token_urlsafe(18)
        ctx.session.add(
            Confirmation(
                token=token,
                community_id=ctx.community_id,
                platform=str(inv.actor.platform),
                user_id=inv.actor.user_id,
                payload=_encode(inv),
                created_at=ctx.now,
                expires_at=ctx.now + CONFIRM_TTL,
            )
        )
        message = preview.plus(
            para("Nothing has been done yet: confirm to go ahead, or cancel."),
            actions=(
                Button(f"{CONFIRM}:{token}", "Confirm", ButtonStyle.PRIMARY),
                Button(f"{CANCEL}:{token}", "Cancel", ButtonStyle.DANGER),
            ),
        )
        return Reply(message, outcome="preview")

    async def _audit_refusal(self, actor: Actor, place: Place, what: str) -> None:
        try:
            services = self.services.for_place(place)
            async with services.db.session() as session:
                now = services.clock()
                member = await ensure_member(
                    session, services.community_id, actor.ref, now, workspace=workspace_of(place)
                )
                session.add(
                    audit_entry(
                        services.community_id,
                        now,
                        member,
                        actor,
                        place,
                        what,
                        "refused: not a maintainer",
                        "denied",
                    )
                )
        except Exception:
            log.exception("could not audit a refusal")

    async def _confirmation(self, press: Press, kind: str, token: str) -> Reply:
        async with self.services.db.sessions() as session:
            row = await session.get(Confirmation, token)
        now = self.services.clock()
        # Another community's token is one this community never issued.
        if row is None or row.expires_at < now or not self._same_community(row, press.place):
            raise UserError(
                "This confirmation has expired or was already used; run the command again."
            )
        if row.platform != str(press.actor.platform) or row.user_id != press.actor.user_id:
            raise UserError("Only the person who asked can confirm or cancel this.")
        if kind == CANCEL:
            async with self.services.db.session() as session:
                await session.execute(delete(Confirmation).where(Confirmation.token == token))
            return Reply(
                Message.text("Cancelled; nothing was done."), replace=True, outcome="cancelled"
            )
        inv = _decode(row.payload, press.actor)
        reply = await self._run(inv, self.prepare(inv), confirm_token=token)
        return replace(reply, replace=True)

    def _same_community(self, row: Confirmation, place: Place) -> bool:
        return row.community_id == self.services.for_place(place).community_id


def _open(
    session: Session,
    community_id: int,
    actor: Actor,
    place: Place,
    dedup_key: str | None,
    wanted: list[tuple[MemberRef, str]],
    now: datetime,
) -> tuple[MemberRow, dict[MemberKey, MemberRow | None]] | None:
    """What every writing command does first, in one hand-off to SQLAlchemy's greenlet (each
    hand-off costs about as much as a statement): record the request's replay key (None if it
    was seen before), then read the asker and the members in `wanted`, creating the asker on
    first sight."""
    if dedup_key and not first_arrival_in(session, str(actor.platform), dedup_key, now):
        return None
    seen = members_seen_in(session, community_id, wanted)
    member = ensure_member_in(
        session,
        community_id,
        actor.ref,
        now,
        acting=True,
        workspace=workspace_of(place),
        seen=seen,
    )
    return member, seen


@dataclass(slots=True)
class Subject:
    """What is being answered (`meeting next`, `button confirm`), once it is known."""

    name: str

    @property
    def described(self) -> str:
        return self.name if self.name.startswith("button ") else f"command /{self.name}"


def _describe(spec: CommandSpec, args: Mapping[str, Any]) -> str:
    """A short account of what a maintainer command was given, for the audit log."""
    parts = []
    for arg in (*spec.args, *spec.options):
        value = args.get(arg.name)
        if value in (None, False):
            continue
        if isinstance(value, MemberRef):
            value = f"@{value.display_name or value.user_id}"
        parts.append(f"{arg.name}={audit_value(value)[:200]}")
    return ", ".join(parts)


def _encode(inv: Invocation) -> dict[str, Any]:
    options = {
        k: ({"__member__": v.to_json()} if isinstance(v, MemberRef) else v)
        for k, v in inv.options.items()
    }
    return {
        "command": inv.command,
        "text": inv.text,
        "path": list(inv.path),
        "options": options,
        "place": {
            "platform": str(inv.place.platform),
            "channel_id": inv.place.channel_id,
            "guild_id": inv.place.guild_id,
            "is_dm": inv.place.is_dm,
        },
    }


def _decode(payload: Mapping[str, Any], actor: Actor) -> Invocation:
    """The confirmed invocation, re-run as the presser (whose permission is checked afresh)."""
    place = payload["place"]
    options = {
        k: (
            MemberRef.from_json(v["__member__"]) if isinstance(v, dict) and "__member__" in v else v
        )
        for k, v in payload["options"].items()
    }
    return Invocation(
        command=payload["command"],
        actor=actor,
        place=Place(
            Platform(place["platform"]), place["channel_id"], place["guild_id"], place["is_dm"]
        ),
        text=payload["text"],
        path=tuple(payload["path"]),
        options=options,
    )
