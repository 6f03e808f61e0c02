"""`communitybot export heroes --format csv|json`, through the real CLI entry point."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.support.heroes_harness import hero_bot

NOV_10 = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)


async def _seed(url: str) -> None:
    async with hero_bot(url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @ana --anonymous she is kind", as_="raj")
        await bot.say('/hero nominate @lin =HYPERLINK("http://x") sneaky', as_="olu")
        await bot.say("/hero review @lin reject", as_="maya")
        await bot.say("/hero announce @ana Thank you, Ana! --yes", as_="maya")


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    asyncio.run(_seed(url))
    config = tmp_path / "bot.toml"
    config.write_text('[community]\nname = "Example Community"\ntimezone = "America/Los_Angeles"\n')
    monkeypatch.setenv("COMMUNITYBOT_DATABASE_URL", url)
    return config


def test_json_export(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "heroes", "--format", "json", "--config", str(seeded)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["community"] == "Example Community"
    [hero] = data["heroes"]
    assert hero["cycle"] == "2026-11" and hero["display_name"] == "ana"
    assert hero["citation"] == "Thank you, Ana!" and hero["nominators"] == 2
    by_reason = {n["reason"]: n for n in data["nominations"]}
    assert by_reason["for the docs"]["nominator"] == "olu"
    anonymous = by_reason["she is kind"]
    assert anonymous["anonymous"] is True
    assert anonymous["nominator"] is None and anonymous["nominator_id"] is None
    assert "raj" not in json.dumps(data)
    assert by_reason['=HYPERLINK("http://x") sneaky']["review"] == "rejected"


def test_csv_export(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "heroes", "--config", str(seeded), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["record"] for r in rows] == ["hero", "nomination", "nomination", "nomination"]
    assert rows[0]["member"] == "ana" and rows[0]["text"] == "Thank you, Ana!"
    anonymous = next(r for r in rows if r["text"] == "she is kind")
    assert anonymous["anonymous"] == "yes" and anonymous["by"] == "" and anonymous["by_id"] == ""
    # A spreadsheet must not run a reason as a formula.
    assert any(r["text"] == '\'=HYPERLINK("http://x") sneaky' for r in rows)


def test_export_of_an_empty_database_is_refused_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMUNITYBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert main(["export", "heroes"]) == 2
    err = capsys.readouterr().err
    assert "run `communitybot db upgrade` first" in err and "Traceback" not in err
