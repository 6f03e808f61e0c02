"""The URL checker: http(s) only, no private/loopback/link-local targets, literal or resolved."""

from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.core.urls import UrlChecker

DNS = {
    "example.org": ["93.184.215.14"],
    "sneaky.example": ["10.0.0.5"],
    "metadata.example": ["169.254.169.254"],
    "loop.example": ["127.0.0.1"],
    "v6loop.example": ["::1"],
    "mixed.example": ["93.184.215.14", "192.168.1.1"],
}


async def resolver(host: str) -> list[str]:
    return DNS.get(host, [])


@pytest.fixture
def checker() -> UrlChecker:
    return UrlChecker(resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.1.2.3:8080/",
        "https://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://0.0.0.0/",
        "https://sneaky.example/survey",
        "https://metadata.example/",
        "https://loop.example/",
        "https://v6loop.example/",
        "https://mixed.example/",
    ],
)
async def test_private_targets_are_refused(checker: UrlChecker, url: str) -> None:
    with pytest.raises(UserError, match="private, loopback or link-local"):
        await checker.check(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/x", "javascript:alert(1)", "example.org", "file:///etc/passwd", "https://"],
)
async def test_non_web_links_are_refused(checker: UrlChecker, url: str) -> None:
    with pytest.raises(UserError, match="web link"):
        await checker.check(url)


async def test_credentials_and_overlong_links_are_refused(checker: UrlChecker) -> None:
    with pytest.raises(UserError, match="user name or password"):
        await checker.check("https://user:pw@example.org/")
    with pytest.raises(UserError, match="longer than"):
        await checker.check("https://example.org/" + "a" * 3000)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/survey?x=1",
        "http://does-not-resolve.example/",
        "https://93.184.215.14/",
    ],
)
async def test_public_and_unresolvable_links_are_accepted(checker: UrlChecker, url: str) -> None:
    assert await checker.check(f"  {url} ") == url
