"""The text grammar of CONTRACT, on a registry shaped like the real one."""

from __future__ import annotations

import pytest

from bot.core.commands import Arg, ArgType, CommandSpec, Registry
from bot.core.errors import UserError
from bot.core.grammar import normalize, parse, tokenize
from bot.features.meetings.ids import MEETING_ID
from bot.features.surveys.commands import SURVEY_NAME


async def _noop(ctx):  # pragma: no cover - never called by the parser
    raise AssertionError


async def _preview(ctx):  # pragma: no cover
    raise AssertionError


@pytest.fixture(scope="module")
def registry() -> Registry:
    r = Registry()
    r.group("announce", "news", default=("post",))
    text = Arg("text", ArgType.TEXT, "the text", rest=True)
    at = Arg("at", ArgType.DATETIME, "when", required=False)
    ping = Arg("ping", ArgType.FLAG, "ping", required=False)
    r.add(
        CommandSpec(
            "announce",
            ("post",),
            "post",
            "/announce hi",
            _noop,
            args=(text,),
            options=(at, ping),
            confirm=_preview,
        )
    )
    r.add(CommandSpec("announce", ("list",), "list", "/announce list", _noop))
    r.add(
        CommandSpec(
            "announce",
            ("edit",),
            "edit",
            "/announce edit 3 x",
            _noop,
            args=(Arg("id", ArgType.INT, "id"), text),
        )
    )
    r.group("meeting", "meetings")
    r.add(
        CommandSpec(
            "meeting",
            ("move",),
            "move",
            "/meeting move",
            _noop,
            args=(
                Arg("meeting", MEETING_ID, "id"),
                Arg("date", ArgType.DATE, "date"),
                Arg("time", ArgType.DATETIME, "new time"),
            ),
        )
    )
    r.add(
        CommandSpec(
            "meeting",
            ("agenda", "add"),
            "agenda",
            "/meeting agenda add",
            _noop,
            args=(Arg("meeting", MEETING_ID, "id"), text),
        )
    )
    r.add(
        CommandSpec(
            "meeting",
            ("agenda", "list"),
            "agenda",
            "/meeting agenda list",
            _noop,
            args=(Arg("meeting", MEETING_ID, "id"),),
        )
    )
    r.add(CommandSpec("meeting", ("next",), "next", "/meeting next", _noop, allow_public=True))
    r.group("survey", "surveys", default=("list",))
    r.add(CommandSpec("survey", ("list",), "list", "/survey", _noop))
    r.add(
        CommandSpec(
            "survey",
            ("close",),
            "close",
            "/survey close x",
            _noop,
            args=(Arg("name", SURVEY_NAME, "name"),),
        )
    )
    return r


def p(registry: Registry, group: str, text: str, *, slack: bool = False):
    parsed = parse(registry.groups[group], text, slack=slack)
    return parsed.spec.path, parsed.raw


def test_default_subcommand_takes_the_text(registry: Registry) -> None:
    assert p(registry, "announce", "Our release is out") == (
        ("post",),
        {"text": "Our release is out"},
    )


def test_options_anywhere_and_quotes_group_words(registry: Registry) -> None:
    path, raw = p(registry, "announce", '--at "2026-12-01 09:00" Our release is out --ping')
    assert path == ("post",)
    assert raw == {"at": "2026-12-01 09:00", "text": "Our release is out", "ping": True}


def test_reserved_word_lists_and_post_escapes_it(registry: Registry) -> None:
    assert p(registry, "announce", "list")[0] == ("list",)
    assert p(registry, "announce", "post list of fixes") == (("post",), {"text": "list of fixes"})


def test_double_dash_ends_options(registry: Registry) -> None:
    _, raw = p(registry, "announce", "--yes -- use --force with care")
    assert raw == {"yes": True, "text": "use --force with care"}


def test_free_text_keeps_spacing_newlines_and_inner_quotes(registry: Registry) -> None:
    _, raw = p(registry, "announce", 'Line one\n  Line "two"')
    assert raw["text"] == 'Line one\n  Line "two"'


def test_single_quoted_text_is_unquoted(registry: Registry) -> None:
    _, raw = p(registry, "announce", '"Hello,   world"')
    assert raw["text"] == "Hello,   world"


def test_apostrophes_are_not_quotes(registry: Registry) -> None:
    _, raw = p(registry, "announce", "We don’t stop, it's fine")
    assert raw["text"] == "We don’t stop, it's fine"


def test_unquoted_datetime_spans_tokens(registry: Registry) -> None:
    _, raw = p(registry, "meeting", "move community 2026-12-31 2027-01-07 09:00 Europe/Berlin")
    assert raw == {
        "meeting": "community",
        "date": "2026-12-31",
        "time": "2027-01-07 09:00 Europe/Berlin",
    }
    _, raw = p(registry, "announce", "--at 2026-12-01 09:00 Hello")
    assert raw == {"at": "2026-12-01 09:00", "text": "Hello"}


def test_two_word_subcommands(registry: Registry) -> None:
    assert p(registry, "meeting", "agenda add community Talk about CI") == (
        ("agenda", "add"),
        {"meeting": "community", "text": "Talk about CI"},
    )
    assert p(registry, "meeting", "agenda list community")[0] == ("agenda", "list")


def test_bare_group_uses_its_default(registry: Registry) -> None:
    assert p(registry, "survey", "")[0] == ("list",)
    assert p(registry, "survey", 'close "2026 Community Survey"') == (
        ("close",),
        {"name": "2026 Community Survey"},
    )


def test_slack_escaping_is_undone(registry: Registry) -> None:
    text = (
        "—at &quot;x&quot; See <https://example.org/a?b=1&amp;c=2|the notes> &amp; <https://x.org>"
    )
    assert normalize(text, slack=True).startswith("--at")
    _, raw = p(
        registry, "announce", "See <https://example.org/a?b=1&amp;c=2|the notes> &lt;3", slack=True
    )
    assert raw["text"] == "See https://example.org/a?b=1&c=2 <3"


def test_curly_quotes_and_em_dash_from_phones(registry: Registry) -> None:
    _, raw = p(registry, "announce", "—at “2026-12-01 09:00” Hello")
    assert raw == {"at": "2026-12-01 09:00", "text": "Hello"}


def test_mentions_survive_for_the_member_resolver() -> None:
    assert normalize("<@U123|olu> &lt;@U9&gt;", slack=True) == "<@U123|olu> <@U9>"


@pytest.mark.parametrize(
    ("group", "text", "expected"),
    [
        ("announce", "--nope x", "has no option --nope"),
        ("announce", "--at", "--at needs a value"),
        ("announce", 'say "unclosed', "quote is not closed"),
        ("meeting", "", "needs a subcommand"),
        ("meeting", "frobnicate", "no subcommand “frobnicate”"),
        ("meeting", "agenda list community extra", "did not expect “extra”"),
        ("announce", "list -- trailing", "did not expect"),
        ("meeting", "next --public --public", None),
    ],
)
def test_errors_are_one_sentence(
    registry: Registry, group: str, text: str, expected: str | None
) -> None:
    if expected is None:
        p(registry, group, text)
        return
    with pytest.raises(UserError) as info:
        p(registry, group, text)
    assert expected in info.value.sentence
    assert "\n" not in info.value.sentence


def test_tokenizer_tracks_quotes() -> None:
    tokens = tokenize('a "b c" d"e f"g')
    assert [(t.value, t.quoted) for t in tokens] == [("a", False), ("b c", True), ("de fg", True)]


def test_a_groups_option_names_follow_the_specs_added_after_a_parse() -> None:
    r = Registry()
    r.group("probe", "probe")
    group = r.groups["probe"]
    r.add(CommandSpec("probe", ("a",), "a", "/probe a", _noop))
    assert group.option_names() == (frozenset({"yes"}), frozenset())
    at = Arg("at", ArgType.DATETIME, "when", required=False)
    r.add(CommandSpec("probe", ("b",), "b", "/probe b", _noop, options=(at,)))
    # Worked out again for the new spec: `--at` takes a value, so `b` is still the command.
    assert group.option_names() == (frozenset({"yes", "at"}), frozenset({"at"}))
    assert parse(group, "--at 2026-12-01 b").spec.path == ("b",)


def test_a_command_that_reads_nothing_must_be_read_only_and_unconfirmed() -> None:
    r = Registry()
    r.group("probe", "probe")
    with pytest.raises(ValueError, match="reads nothing"):
        r.add(CommandSpec("probe", ("a",), "a", "/probe a", _noop, reads_nothing=True))
    with pytest.raises(ValueError, match="reads nothing"):
        r.add(
            CommandSpec(
                "probe",
                ("b",),
                "b",
                "/probe b",
                _noop,
                read_only=True,
                reads_nothing=True,
                confirm=_preview,
            )
        )
    r.add(CommandSpec("probe", ("c",), "c", "/probe c", _noop, read_only=True, reads_nothing=True))
