"""parse → check → handler → Reply. Every way a command can fail becomes one answer here."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from bot import metrics
from bot.core import argtypes, grammar
from bot.core.argtypes import MemberParser
from bot.core.audit_text import audit_value
from bot.core.commands import ArgType, CommandSpec, Permission, Visibility
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform, Press
from bot.core.message import Button, ButtonStyle, Message, para
from bot.core.permissions import is_maintainer
from bot.core.replies import Reply
from bot.core.services import Services
from bot.scheduling.queue import enqueued
from bot.store.inbound import first_delivery
from bot.store.members import ensure_member
from bot.store.models import AuditEntry, Confirmation, Member

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


def _error(exc: UserError) -> Reply:
    return Reply(Message.text(exc.sentence), outcome=exc.outcome)


class Dispatcher:
    """The one path from an adapter's Invocation or Press to a Reply."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.member_parsers: dict[Platform, MemberParser] = {
            Platform.CONSOLE: argtypes.console_member
        }

    # -- looking up a spec without running it (Discord must pick ephemeral/public up front) --

    def spec_for(self, inv: Invocation) -> tuple[CommandSpec, dict[str, object]]:
        registry = self.services.registry
        group = registry.groups.get(inv.command)
        if group is None:
            raise UserError(f"I don't know /{inv.command[:40]}; try /communitybot help.")
        if inv.text is not None:
            parsed = grammar.parse(group, inv.text, slack=inv.actor.platform is Platform.SLACK)
            return parsed.spec, parsed.raw
        spec = registry.find(inv.command, inv.path)
        if spec is None:
            raise UserError(f"I don't know /{' '.join((inv.command, *inv.path))[:60]}.")
        return spec, dict(inv.options)

    def is_public(self, inv: Invocation) -> bool:
        """Whether a successful answer goes to the channel, known before any work starts."""
        try:
            spec, raw = self.spec_for(inv)
        except UserError:
            return False
        return spec.visibility is Visibility.PUBLIC or (
            spec.allow_public and bool(raw.get("public"))
        )

    # -- commands --

    async def handle(self, inv: Invocation) -> Reply:
        started = time.perf_counter()
        name = inv.command
        try:
            spec, raw = self.spec_for(inv)
            name = spec.name
            reply = await self._run(inv, spec, raw, confirm_token=None)
        except UserError as exc:
            if isinstance(exc, PermissionDenied):
                await self._audit_refusal(inv.actor, inv.place, name)
            reply = _error(exc)
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("command /%s failed (error id %s)", name, error_id)
            reply = _apology(error_id)
        metrics.COMMANDS.labels(name, str(inv.actor.platform), reply.outcome).inc()
        metrics.COMMAND_DURATION.labels(str(inv.actor.platform)).observe(
            time.perf_counter() - started
        )
        return reply

    def _check_permission(self, actor: Actor, permission: Permission, what: str) -> None:
        if permission is Permission.MAINTAINER and not is_maintainer(actor, self.services.settings):
            raise PermissionDenied(f"Only maintainers can use {what}.")

    async def _run(
        self,
        inv: Invocation,
        spec: CommandSpec,
        raw: Mapping[str, object],
        confirm_token: str | None,
    ) -> Reply:
        services = self.services
        label = services.command_label(inv.actor.platform, spec.name)
        self._check_permission(inv.actor, spec.permission, label)
        zone = services.settings.community.timezone
        if any(a.type is ArgType.DATETIME for a in (*spec.args, *spec.options)):
            zone = await self.zone_of(inv.actor) or zone
        # Arguments are resolved (URL look-ups included) before the transaction opens, so no
        # write lock is held while waiting on the network.
        args = await argtypes.resolve(
            spec,
            raw,
            platform=inv.actor.platform,
            member_parser=self.member_parsers.get(inv.actor.platform),
            urls=services.urls,
            zone=zone,
        )
        confirmed = confirm_token is not None or bool(args.get("yes"))
        public = spec.visibility is Visibility.PUBLIC or (
            spec.allow_public and bool(args.get("public"))
        )
        async with services.db.session() as session:
            now = services.clock()
            if inv.dedup_key and not await first_delivery(
                session, str(inv.actor.platform), inv.dedup_key, now
            ):
                return Reply(Message.text("Already handled."), outcome="duplicate")
            if confirm_token is not None:
                gone = await session.execute(
                    delete(Confirmation).where(Confirmation.token == confirm_token)
                )
                if not gone.rowcount:  # type: ignore[attr-defined]
                    raise UserError("That was already confirmed or cancelled.")
            member = await ensure_member(
                session, services.community_id, inv.actor.ref, now, acting=True
            )
            ctx = Context(
                services, inv.actor, inv.place, session, member, now, spec, args, confirmed, public
            )
            if spec.confirm is not None and not confirmed:
                return await self._preview(ctx, inv)
            result = await spec.handler(ctx)
            reply = result if isinstance(result, Reply) else Reply(result, public=public)
            if spec.permission is Permission.MAINTAINER and spec.audited and not ctx._audited:
                ctx.audit(label, _describe(spec, args))
            wake = enqueued(session)
        if wake:
            # Only now, after the commit, can the timer see the new rows.
            services.wake()
        return reply

    async def zone_of(self, actor: Actor) -> str | None:
        """The zone this person set, if any."""
        async with self.services.db.sessions() as session:
            return await session.scalar(
                select(Member.timezone).where(
                    Member.community_id == self.services.community_id,
                    Member.platform == str(actor.platform),
                    Member.platform_user_id == actor.user_id,
                )
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
            async with self.services.db.session() as session:
                now = self.services.clock()
                member = await ensure_member(session, self.services.community_id, actor.ref, now)
                session.add(
                    AuditEntry(
                        community_id=self.services.community_id,
                        at=now,
                        member_id=member.id,
                        platform=str(actor.platform),
                        actor_name=actor.display_name or actor.user_id,
                        action=what[:100],
                        detail="refused: not a maintainer",
                        place="direct message" if place.is_dm else place.channel_id,
                        outcome="denied",
                    )
                )
        except Exception:
            log.exception("could not audit a refusal")

    # -- button presses --

    async def press(self, press: Press) -> Reply:
        started = time.perf_counter()
        kind, _, rest = press.action_id.partition(":")
        name = f"button {kind}"
        try:
            if kind in (CONFIRM, CANCEL):
                reply = await self._confirmation(press, kind, rest)
            else:
                reply = await self._action(press, kind, rest)
        except UserError as exc:
            if isinstance(exc, PermissionDenied):
                await self._audit_refusal(press.actor, press.place, name)
            reply = _error(exc)
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("button %s failed (error id %s)", press.action_id[:60], error_id)
            reply = _apology(error_id)
        metrics.COMMANDS.labels(name, str(press.actor.platform), reply.outcome).inc()
        metrics.COMMAND_DURATION.labels(str(press.actor.platform)).observe(
            time.perf_counter() - started
        )
        return reply

    async def _confirmation(self, press: Press, kind: str, token: str) -> Reply:
        async with self.services.db.sessions() as session:
            row = await session.get(Confirmation, token)
        now = self.services.clock()
        if row is None or row.expires_at < now:
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
        spec, raw = self.spec_for(inv)
        reply = await self._run(inv, spec, raw, confirm_token=token)
        return replace(reply, replace=True)

    async def _action(self, press: Press, kind: str, rest: str) -> Reply:
        action = self.services.registry.actions.get(kind)
        if action is None:
            raise UserError("That button no longer does anything.")
        self._check_permission(press.actor, action.permission, "that button")
        async with self.services.db.session() as session:
            now = self.services.clock()
            if press.dedup_key and not await first_delivery(
                session, str(press.actor.platform), press.dedup_key, now
            ):
                return Reply(Message.text("Already handled."), outcome="duplicate")
            member = await ensure_member(
                session, self.services.community_id, press.actor.ref, now, acting=True
            )
            ctx = Context(self.services, press.actor, press.place, session, member, now)
            result = await action.handler(ctx, rest)
            reply = result if isinstance(result, Reply) else Reply(result, replace=True)
            wake = enqueued(session)
        if wake:
            self.services.wake()
        return reply


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
