"""The `[web]` section of the config file: the public page."""

from __future__ import annotations

from bot.config import ConfigSection, Section, Settings


class WebConfig(Section):
    # False: GET / (and its stylesheet and script) answer 404.
    public_page: bool = True


SECTION = ConfigSection("web", WebConfig)


def web_config(settings: Settings) -> WebConfig:
    config: WebConfig = settings.file.section("web")
    return config
