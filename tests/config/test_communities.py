"""`[[communities]]`: several communities in one file, each with its own tables; the single
`[community]` form is one community, `default`, exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import load_settings
from bot.config import ConfigError, OwnSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"

TWO = """
[retention]
deliveries_days = 30

[[communities]]
key = "alpha"
name = "Alpha"
timezone = "Europe/Berlin"

[communities.slack]
team_ids = ["T0ALPHA01"]
maintainers = ["UMAYA"]

[communities.discord]
guild_ids = [920000000000000001]

[communities.heroes]
period = "quarterly"

[[communities.meetings]]
id = "sync"
name = "Alpha Sync"
start = "2026-01-29T09:00"

[[communities.surveys]]
name = "Alpha Survey"
url = "https://example.org/alpha"
closes = "2026-12-31"

[[communities]]
key = "beta"
name = "Beta"

[communities.slack]
team_ids = ["T0BETA001"]

[[communities.meetings]]
id = "sync"
name = "Beta Sync"
start = "2026-02-01T10:00"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    return info.value.problems


def test_each_community_reads_its_own_sections(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TWO), env={})
    (alpha_key, alpha), (beta_key, beta) = settings.per_community()
    assert (alpha_key, beta_key) == ("alpha", "beta")
    assert (alpha.community.name, alpha.community.timezone) == ("Alpha", "Europe/Berlin")
    assert (beta.community.name, beta.community.timezone) == ("Beta", "UTC")
    assert alpha.slack.team_ids == ["T0ALPHA01"] and alpha.slack.maintainers == ["UMAYA"]
    assert beta.slack.team_ids == ["T0BETA001"] and beta.slack.maintainers == []
    assert alpha.discord.guild_ids == [920000000000000001] and beta.discord.guild_ids == []
    # The features read their section the same way in both forms, and see only their own.
    assert alpha.file.section("heroes").period == "quarterly"
    assert beta.file.section("heroes").period == "monthly"
    assert [m.name for m in alpha.file.section("meetings")] == ["Alpha Sync"]
    assert [m.name for m in beta.file.section("meetings")] == ["Beta Sync"]
    assert [s.name for s in alpha.file.section("surveys")] == ["Alpha Survey"]
    assert beta.file.section("surveys") == []
    # Deployment-wide sections are shared.
    assert alpha.file.retention.deliveries_days == beta.file.retention.deliveries_days == 30


def test_the_single_form_is_one_default_community(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, '[community]\nname = "Solo"\n[slack]\nmaintainers = ["UMAYA"]\n'), env={}
    )
    assert settings.per_community() == [("default", settings)]
    assert settings.file.communities == []


def test_problems_name_the_community_and_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[[communities]]
key = "alpha"
timezone = "Mars/Olympus"
[communities.slack]
team_ids = ["acme"]

[[communities]]
key = "Beta Community"
[communities.discord]
guild_ids = ["general"]
[[communities.meetings]]
id = "Weekly Sync"
name = "x"
start = "2026-01-29T09:00"
""",
    )
    text = "\n".join(found)
    assert "communities[0].timezone" in text, text
    assert "communities[0].slack.team_ids: “acme” is not a Slack team ID" in text, text
    assert "communities[1].key: “Beta Community” is not a community key" in text, text
    assert "communities[1].discord.guild_ids" in text, text
    assert "communities[1].meetings.0.id" in text, text


def test_a_workspace_guild_or_key_belongs_to_one_community(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[[communities]]
key = "alpha"
[communities.slack]
team_ids = ["T0SHARED1"]
[communities.discord]
guild_ids = [1]

[[communities]]
key = "beta"
[communities.slack]
team_ids = ["T0SHARED1"]
[communities.discord]
guild_ids = [1]

[[communities]]
key = "alpha"
""",
    )
    assert "communities[1].slack.team_ids: “T0SHARED1” is already in communities[0]" in found
    assert "communities[1].discord.guild_ids: “1” is already in communities[0]" in found
    assert "communities[2].key: “alpha” is already in communities[0]" in found


def test_a_feature_check_runs_in_each_community(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[[communities]]
key = "alpha"
[[communities.meetings]]
id = "sync"
name = "One"
start = "2026-01-29T09:00"
[[communities.meetings]]
id = "sync"
name = "Two"
start = "2026-01-29T09:00"

[[communities]]
key = "beta"
[[communities.meetings]]
id = "sync"
name = "Beta's own sync"
start = "2026-01-29T09:00"
""",
    )
    assert len(found) == 1 and found[0].startswith("communities[0].meetings: "), found
    assert "sync" in found[0]


def test_renamed_slack_commands_wait_for_a_later_version(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[[communities]]\nkey = "alpha"\n'
        '[communities.slack]\ncommands = { survey = "cb-survey" }\n',
    )
    assert found == [
        "communities[0].slack.commands: renamed Slack commands are not supported "
        "with [[communities]] yet"
    ]


def test_the_two_forms_do_not_mix(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[community]\nname = "Solo"\n[heroes]\nperiod = "monthly"\n'
        '[[communities]]\nkey = "alpha"\n',
    )
    assert any(p.startswith("community: with [[communities]]") for p in found), found
    assert any(p.startswith("heroes: with [[communities]]") for p in found), found


def test_the_commented_example_of_two_communities_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text.split("# [[communities]] example begins\n")[1].split(
        "# [[communities]] example ends"
    )[0]
    uncommented = "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.splitlines())
    settings = load_settings(write(tmp_path, uncommented), env={})
    (alpha_key, alpha), (beta_key, beta) = settings.per_community()
    assert (alpha_key, beta_key) == ("alpha", "beta")
    assert alpha.slack.team_ids == ["T012ALPHA1"] and beta.slack.team_ids == ["T012BETA01"]
    assert [m.id for m in alpha.file.section("meetings")] == ["sync"]
    assert [s.name for s in beta.file.section("surveys")] == ["2026 Community Survey"]
    assert settings.open_installs is True
    # With open_installs, commands are registered globally: a guild joining later has them.
    assert settings.discord_guild_ids == []


def test_open_installs_needs_the_communities_form(tmp_path: Path) -> None:
    found = problems(tmp_path, '[community]\nname = "Solo"\n[deployment]\nopen_installs = true\n')
    assert found == [
        "deployment.open_installs: the single [community] form serves every workspace and "
        "guild as one community, so nothing is created for an install; declare "
        "[[communities]] instead, or remove open_installs"
    ]
    solo = load_settings(write(tmp_path, "[deployment]\nopen_installs = false\n"), env={})
    assert solo.open_installs is False
    wrong = problems(tmp_path, TWO + '\n[deployment]\nopen_installs = "maybe"\n')
    assert wrong == [
        "deployment.open_installs: Input should be a valid boolean, unable to interpret input"
    ]


def test_a_created_community_starts_from_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, TWO + "\n[deployment]\nopen_installs = true\n"), env={}
    )
    own = OwnSettings(announce_channels=("940000000000000001",), maintainers=("700",))
    made = settings.created("discord", "920000000000000099", "  Newcomers  ", own)
    assert made.community.name == "Newcomers" and made.community.timezone == "UTC"
    assert made.discord.guild_ids == [920000000000000099]
    assert made.discord.announce_channels == [940000000000000001]
    assert made.discord.maintainers == [700] and made.discord.manage_server_maintainers
    assert made.slack.team_ids == [] and made.slack.maintainers == []
    # Every feature section at its default, not another community's.
    assert made.file.section("heroes").period == "monthly"
    assert made.file.section("meetings") == [] and made.file.section("surveys") == []
    assert made.file.section("web").public_page is False
    assert made.file.retention.deliveries_days == 30
    slack = settings.created("slack", "T0NEW0001", "", OwnSettings(public_page=True))
    assert slack.community.name == "T0NEW0001" and slack.slack.team_ids == ["T0NEW0001"]
    assert slack.file.section("web").public_page is True
    assert OwnSettings.from_json(own.to_json()) == own
