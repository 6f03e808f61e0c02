"""The scenario driver: type a command as anyone, press a reply's button as anyone.

Scenarios are written once against this interface and run on every adapter (console, Slack,
Discord); that is how parity is proven. Members are written `@name` in scenario text; each
driver turns them into its platform's form. MAINTAINERS are maintainers on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.invocation import Platform

MAINTAINERS = frozenset({"maya", "mo"})
PEOPLE = ("maya", "mo", "olu", "ana", "raj", "lin")

# The config every driver starts the bot with (Slack and Discord ids are the drivers' own).
SCENARIO_CONFIG: dict[str, Any] = {
    "community": {"name": "Example Community", "timezone": "America/Los_Angeles"},
    "slack": {
        "maintainers": ["UMAYA", "UMO"],
        "announce_channels": ["CANNOUNCE"],
        "announce_ping": "here",
        "maintainer_channel": "CMAINTS",
    },
    "discord": {
        "maintainer_roles": [900000000000000001],
        "announce_channels": [910000000000000001],
        "announce_ping": 900000000000000002,
        "maintainer_channel": 910000000000000002,
    },
}


@dataclass
class Said:
    """What the asker saw in answer: the plain text, the buttons, and whether it was public."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, action id)
    public: bool = False

    def button(self, label: str) -> str:
        for lbl, action in self.buttons:
            if label.lower() in lbl.lower() or label.lower() in action.lower():
                return action
        raise AssertionError(f"no button {label!r} in {self.buttons!r}")


class Driver(Protocol):
    platform: Platform
    # True where commands arrive as structured options (Discord): text a platform could
    # never send (an unregistered subcommand) cannot be typed there.
    structured: bool

    async def say(self, text: str, *, as_: str = "olu") -> Said:
        """Type `text` (a whole command line like `/hero nominate @olu thanks`) as `as_`."""

    async def press(self, said: Said, button: str, *, as_: str = "olu") -> Said:
        """Press the button of `said` whose label (or id) contains `button`, as `as_`."""

    async def channel_posts(self) -> list[str]:
        """Plain texts of everything the bot posted to channels so far, oldest first."""

    async def run_due(self) -> int:
        """Send what is due now (scheduled deliveries) through this driver's platform."""
