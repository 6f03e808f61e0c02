"""The Slack fake's answers that are not Slack's JSON (a proxy's error page in the way)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import SlackFake

BOT_TOKEN = "xoxb-fake-non-json"


async def test_non_json_answers_are_injected_per_method_and_counted() -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        fake.inject_non_json("users.info", times=1)
        with pytest.raises(SlackApiError) as err:
            await client.users_info(user="UANA")
        assert err.value.response.status_code == 405
        [call] = fake.calls("users.info")
        assert call.status == 405 and not call.ok
        # Other methods are unaffected, and the fault is used up.
        assert (await client.auth_test())["ok"]
        assert (await client.users_info(user="UANA"))["user"]["id"] == "UANA"

        fake.inject_non_json("users.info", status=200, content_type="text/plain", body="nope")
        with pytest.raises((SlackApiError, AttributeError)):  # slack_sdk keeps the body as a str
            await client.users_info(user="UANA")
        assert fake.calls("users.info")[-1].status == 200
