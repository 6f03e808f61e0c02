"""Links people give the bot: http(s) only, never a private, loopback or link-local address.

The bot never fetches these URLs; the check stops it from handing out links into someone's
internal network (cloud metadata endpoints and the like). A hostname that does not resolve is
accepted, since it is only a link.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from bot.core.errors import UserError

Resolver = Callable[[str], Awaitable[list[str]]]
MAX_URL_LENGTH = 2000


async def system_resolver(host: str) -> list[str]:
    """Addresses of `host` from the system resolver; none when it does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None), timeout=3)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def _forbidden(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_link(url: str) -> tuple[str, str]:
    """The checks that need no network: (the stripped URL, its host), or a UserError.

    The config file is checked with this alone (it is loaded before anything may use the
    network); links typed in commands also have their hostname resolved by UrlChecker.
    """
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UserError(f"That link is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise UserError(f"“{url[:60]}” is not a valid link.") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise UserError(
            f"“{url[:60]}” is not a web link; give one starting with https:// or http://."
        )
    if parts.username or parts.password:
        raise UserError("Links with a user name or password in them are not accepted.")
    if _forbidden(host):
        raise UserError(f"{host} is a private, loopback or link-local address; give a public link.")
    return url, host


class UrlChecker:
    def __init__(self, resolver: Resolver = system_resolver) -> None:
        self._resolve = resolver

    async def check(self, url: str) -> str:
        """The URL, stripped, or a UserError saying why it is refused."""
        url, host = check_link(url)
        try:
            ipaddress.ip_address(host)
            return url
        except ValueError:
            pass
        if any(_forbidden(a) for a in await self._resolve(host)):
            raise UserError(
                f"{host} points to a private, loopback or link-local address; give a public link."
            )
        return url


async def no_resolution(host: str) -> list[str]:
    """A resolver for tests and offline runs: no hostname resolves."""
    del host
    return []


__all__ = ["Resolver", "UrlChecker", "check_link", "no_resolution", "system_resolver"]
