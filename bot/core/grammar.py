"""The text grammar of CONTRACT: subcommand words, options anywhere, quotes, `--`, free text.

Only double quotes group words (straight or curly): apostrophes are far too common in English
text ("don’t") to double as quotes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.core import typed_text
from bot.core.commands import ArgType, CommandGroup, CommandSpec
from bot.core.errors import UserError

_OPEN_QUOTES = '"“”„‟'
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|[^>]*)?>")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An em dash at the start of a word, glued to what may be an option name (`—at`, `—yes=…`).
_DASHED = re.compile(r"(?:(?<=\s)|^)—(?=([A-Za-z][\w-]*)(?:=|\s|$))")


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    start: int
    end: int
    quoted: bool

    @property
    def is_option(self) -> bool:
        return not self.quoted and self.value.startswith("--")


def normalize(text: str, *, slack: bool = False, options: Collection[str] | None = None) -> str:
    """Undo what chat clients do to typed text: Slack's link and entity escaping, em dashes.

    `options` are the option names an em dash may stand in front of (any word when None).
    """
    if slack:
        text = _SLACK_LINK.sub(lambda m: m.group(1), text)
        # Slack escapes only & < >; mentions (<@U…>) stay as they are for the member resolver.
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    else:
        text = html.unescape(text) if "&amp;" in text else text
    # Phones and Slack turn a typed `--` into an em dash at the start of a word; but an em
    # dash in prose ("2.11 — the release — is out") is prose, so only one glued to an
    # option name is read as `--` (CONTRACT, quality rules).
    return _DASHED.sub(
        lambda m: "--" if options is None or m.group(1).lower() in options else "—", text
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start, buf, quoted = i, [], False
        while i < n and not text[i].isspace():
            if text[i] in _OPEN_QUOTES:
                quoted = True
                i += 1
                close = i
                while close < n and text[close] not in _OPEN_QUOTES:
                    close += 1
                if close >= n:
                    raise UserError('A quote is not closed; put a matching " after the text.')
                buf.append(text[i:close])
                i = close + 1
            else:
                buf.append(text[i])
                i += 1
        tokens.append(Token("".join(buf), start, i, quoted))
    return tokens


def _positionals(tokens: list[Token], value_opts: frozenset[str]) -> list[int]:
    """Indexes of tokens before `--` that are not options (a best guess before the subcommand
    is known): subcommand words are never taken from the literal text after `--`."""
    out: list[int] = []
    skip = False
    for idx, tok in enumerate(tokens):
        if skip:
            skip = False
            continue
        if tok.is_option:
            if tok.value == "--":
                break
            name = tok.value[2:]
            if "=" not in name and name in value_opts:
                skip = True
            continue
        out.append(idx)
    return out


@dataclass(frozen=True, slots=True)
class Parsed:
    spec: CommandSpec
    raw: dict[str, object]


def find_spec(
    group: CommandGroup, text: str, *, slack: bool = False
) -> tuple[CommandSpec, list[Token], str, int]:
    """The spec the text names, its tokens, the normalized text, and how many path words it used."""
    # Refused (or cleaned) before anything else, so no answer ever echoes a control character.
    names, taking_values = group.option_names()
    norm = normalize(typed_text.clean(text), slack=slack, options=names)
    tokens = tokenize(norm)
    pos = _positionals(tokens, taking_values)
    words = [tokens[i].value.lower() for i in pos if not tokens[i].quoted]
    for path in sorted(group.specs, key=len, reverse=True):
        # The path words must be the leading positionals, unquoted.
        if (
            path
            and len(words) >= len(path)
            and tuple(words[: len(path)]) == path
            and all(not tokens[pos[k]].quoted for k in range(len(path)))
        ):
            return group.specs[path], tokens, norm, len(path)
    first = words[0] if pos and not tokens[pos[0]].quoted else None
    if group.default is not None and (first is None or first not in group.words()):
        default = group.specs[group.default]
        # An unknown word is the default's text (`/announce Hello`) only when the default
        # takes words; otherwise it is a mistyped subcommand (`/survey frob`).
        if first is None or default.args:
            return default, tokens, norm, 0
    if () in group.specs and not pos:
        return group.specs[()], tokens, norm, 0
    subs = ", ".join(sorted(" ".join(p) for p in group.specs if p))
    if not pos:
        raise UserError(f"/{group.name} needs a subcommand: {subs}. Try /communitybot help.")
    under = sorted(p[1] for p in group.specs if len(p) > 1 and p[0] == first)
    if under:
        # A group of its own (`/meeting agenda`): name its subcommands.
        name, listed = f"/{group.name} {first}", ", ".join(under)
        if len(pos) < 2 or tokens[pos[1]].quoted:
            raise UserError(f"{name} needs a subcommand: {listed}.")
        raise UserError(
            f"{name} has no subcommand “{tokens[pos[1]].value[:40]}”; use one of: {listed}."
        )
    raise UserError(
        f"/{group.name} has no subcommand “{tokens[pos[0]].value[:40]}”; use one of: {subs}."
    )


def _merge_datetime(tokens: list[Token], idx: int, norm: str) -> tuple[str, int]:
    """`2026-12-01 09:00 [Zone]` typed without quotes spans several tokens; join them."""
    tok = tokens[idx]
    if tok.quoted or not _DATE.match(tok.value) or idx + 1 >= len(tokens):
        return tok.value, idx
    nxt = tokens[idx + 1]
    if nxt.quoted or not _TIME.match(nxt.value):
        return tok.value, idx
    value, last = f"{tok.value} {nxt.value}", idx + 1
    if last + 1 < len(tokens):
        zone = tokens[last + 1]
        if not zone.quoted and ("/" in zone.value or zone.value.upper() == "UTC"):
            value, last = f"{value} {zone.value}", last + 1
    return value, last


def parse(group: CommandGroup, text: str, *, slack: bool = False) -> Parsed:
    """Match `text` (what follows the slash command) to a spec and its raw argument strings."""
    spec, tokens, norm, path_len = find_spec(group, text, slack=slack)
    raw: dict[str, object] = {}
    positional: list[int] = []
    literal_from: int | None = None
    idx = 0
    seen_path = 0
    while idx < len(tokens):
        tok = tokens[idx]
        if tok.is_option:
            if tok.value == "--":
                literal_from = idx + 1
                break
            name, _, inline = tok.value[2:].partition("=")
            opt = spec.option(name.lower())
            if opt is None:
                if any(a.type is ArgType.TEXT for a in spec.args):
                    raise UserError(
                        f"/{spec.name} has no option --{name[:30]}; if it is part of your "
                        f'text, put it in quotes ("--{name[:30]}") or after a -- '
                        "(everything after -- is text)."
                    )
                raise UserError(f"/{spec.name} has no option --{name[:30]}; usage: {spec.usage}")
            if opt.type is ArgType.FLAG:
                raw[opt.name] = True
            elif inline:
                raw[opt.name] = inline
            else:
                if idx + 1 >= len(tokens):
                    raise UserError(f"--{opt.name} needs a value; for example: {spec.example}")
                if opt.type is ArgType.DATETIME:
                    raw[opt.name], idx = _merge_datetime(tokens, idx + 1, norm)
                else:
                    idx += 1
                    raw[opt.name] = tokens[idx].value
            idx += 1
            continue
        if seen_path < path_len:
            seen_path += 1
        else:
            positional.append(idx)
        idx += 1
    _assign(spec, tokens, positional, literal_from, norm, raw)
    return Parsed(spec, raw)


def _assign(
    spec: CommandSpec,
    tokens: list[Token],
    positional: list[int],
    literal_from: int | None,
    norm: str,
    raw: dict[str, object],
) -> None:
    queue = list(positional)
    for arg in spec.args:
        if arg.rest:
            pieces = [tokens[i] for i in queue]
            queue = []
            text = _rest_text(pieces, tokens, literal_from, norm)
            if text:
                raw[arg.name] = text
            continue
        if not queue:
            break
        i = queue.pop(0)
        if arg.type is ArgType.DATETIME:
            value, last = _merge_datetime(tokens, i, norm)
            while queue and queue[0] <= last:
                queue.pop(0)
            raw[arg.name] = value
        else:
            raw[arg.name] = tokens[i].value
    if queue:
        extra = tokens[queue[0]].value
    elif (
        literal_from is not None
        and literal_from < len(tokens)
        and not any(a.rest for a in spec.args)
    ):
        extra = norm[tokens[literal_from].start :]
    else:
        return
    raise UserError(f"/{spec.name} did not expect “{extra[:40]}”; usage: {spec.usage}")


def _rest_text(
    pieces: list[Token], tokens: list[Token], literal_from: int | None, norm: str
) -> str:
    """Free text keeps what the person typed (spacing, newlines, quotes inside it)."""
    if len(pieces) == 1 and pieces[0].quoted and literal_from is None:
        return pieces[0].value.strip()
    runs: list[str] = []
    run_start: Token | None = None
    prev: Token | None = None
    index = {id(t): k for k, t in enumerate(tokens)}
    for tok in pieces:
        if run_start is not None and prev is not None and index[id(tok)] == index[id(prev)] + 1:
            prev = tok
            continue
        if run_start is not None and prev is not None:
            runs.append(norm[run_start.start : prev.end])
        run_start = prev = tok
    if run_start is not None and prev is not None:
        runs.append(norm[run_start.start : prev.end])
    if literal_from is not None and literal_from < len(tokens):
        runs.append(norm[tokens[literal_from].start :])
    return " ".join(r.strip() for r in runs if r.strip())
