"""Turning raw argument values (typed text or Discord options) into typed values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.core import times, typed_text
from bot.core.commands import Arg, ArgType, CommandSpec, ValueType
from bot.core.errors import UserError
from bot.core.invocation import MemberRef, Platform
from bot.core.urls import UrlChecker

MemberParser = Callable[[str], MemberRef | None]


def console_member(token: str) -> MemberRef | None:
    """On the console any `@name` is a member."""
    name = token.strip()
    if not name.startswith("@") or len(name) < 2 or len(name) > 64:
        return None
    return MemberRef(Platform.CONSOLE, name[1:], name[1:])


_MEMBER_HINT = {
    Platform.SLACK: "mention them with @ so Slack links the name",
    Platform.DISCORD: "pick them in the member option",
    Platform.CONSOLE: "write their name as @name",
}


async def resolve(
    spec: CommandSpec,
    raw: Mapping[str, object],
    *,
    platform: Platform,
    member_parser: MemberParser | None,
    urls: UrlChecker,
    zone: str,
) -> dict[str, Any]:
    """Typed values for every argument and option of `spec`; a UserError for the first bad one."""
    out: dict[str, Any] = {}
    for arg in (*spec.args, *spec.all_options):
        value = raw.get(arg.name)
        if isinstance(value, str):
            # Every adapter's text passes here: one place refuses control characters and
            # invisible-only text, and removes bidi overrides, for every feature.
            value = typed_text.clean(value)
            if value.strip() and typed_text.is_blank(value):
                label = f"<{arg.name}>" if arg in spec.args else f"--{arg.name}"
                raise UserError(
                    f"{label} has nothing visible in it; write some letters, digits or emoji."
                )
        if value is None or (isinstance(value, str) and not value.strip()):
            if arg.type is ArgType.FLAG:
                out[arg.name] = False
                continue
            if arg.required and arg in spec.args:
                raise UserError(
                    f"/{spec.name} needs <{arg.name}> ({arg.help}); for example: {spec.example}"
                )
            out[arg.name] = None
            continue
        out[arg.name] = await _one(spec, arg, value, platform, member_parser, urls, zone)
    return out


async def _one(
    spec: CommandSpec,
    arg: Arg,
    value: object,
    platform: Platform,
    member_parser: MemberParser | None,
    urls: UrlChecker,
    zone: str,
) -> Any:
    if arg.type is ArgType.FLAG:
        return bool(value)
    if arg.type is ArgType.MEMBER:
        if isinstance(value, MemberRef):
            return value
        ref = member_parser(str(value)) if member_parser else None
        if ref is None:
            raise UserError(
                f"I can't tell who “{str(value)[:40]}” is; "
                f"{_MEMBER_HINT.get(platform, 'mention them')}."
            )
        return ref
    text = str(value).strip()
    if isinstance(arg.type, ValueType):
        limit = min(arg.max_length, arg.type.max_length)
        if len(text) > limit:
            raise UserError(f"<{arg.name}> is longer than {limit} characters.")
        return arg.type.parse(text)
    match arg.type:
        case ArgType.TEXT:
            if len(text) > arg.max_length:
                raise UserError(
                    f"<{arg.name}> is {len(text)} characters long; the limit is {arg.max_length}."
                )
            return text
        case ArgType.WORD:
            limit = min(arg.max_length, 100)
            if len(text) > limit:
                raise UserError(f"<{arg.name}> is longer than {limit} characters.")
            return text
        case ArgType.INT:
            try:
                number = int(text)
            except ValueError:
                raise UserError(
                    f"<{arg.name}> must be a whole number, not “{text[:20]}”."
                ) from None
            lo, hi = arg.min_value, arg.max_value
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                raise UserError(f"<{arg.name}> must be between {lo} and {hi}.")
            return number
        case ArgType.CHOICE:
            choice = text.lower()
            if choice not in arg.choices:
                raise UserError(f"<{arg.name}> must be one of: {', '.join(arg.choices)}.")
            return choice
        case ArgType.DATE:
            return times.parse_date(text)
        case ArgType.DATETIME:
            return times.parse_when(text, zone)
        case ArgType.DURATION:
            return times.parse_duration(text)
        case ArgType.ZONE:
            return times.zone(text).key
        case ArgType.URL:
            return await urls.check(text)
    raise AssertionError(f"unhandled argument type {arg.type}")
