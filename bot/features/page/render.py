"""The page as HTML: Jinja2 templates (autoescaped) over a PublicView.

Every time is a `<time datetime="…Z">` in UTC whose text is the contract's fallback (the
meeting's zone, then UTC); static/page.js rewrites that text into the reader's zone, and
without JavaScript the fallback stays, which is still right."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.core.times import format_fallback
from bot.runtime.public import PublicMeeting, PublicView

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"

_env = Environment(
    loader=PackageLoader("bot.features.page", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def utc_attr(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_tag(at: datetime, zone: str) -> Markup:
    """`<time datetime="2026-01-29T17:00:00Z">Thu 29 Jan 2026, 09:00 PST (17:00 UTC)</time>`."""
    return Markup('<time datetime="{}" data-local>{}</time>').format(
        utc_attr(at), format_fallback(at, zone)
    )


def date_tag(day: date) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(
        day.isoformat(), f"{day:%a} {day.day} {day:%b %Y}"
    )


def webcal_url(base_url: str) -> str:
    """The feed for calendar apps: webcal:// is http(s):// that opens the subscribe dialog."""
    parts = urlsplit(base_url)
    return f"webcal://{parts.netloc}{parts.path.rstrip('/')}/calendar.ics"


def google_calendar_url(meeting: PublicMeeting) -> str:
    """Google Calendar's "add event" form for the whole series, in the meeting's own zone
    (local times with `ctz`, so the rule keeps its wall-clock time across DST)."""
    start = meeting.local_start
    end = start + timedelta(minutes=meeting.duration_minutes)
    details = meeting.description
    if meeting.register_url:
        details = f"{details}\n\nRegister: {meeting.register_url}".strip()
    params = {
        "action": "TEMPLATE",
        "text": meeting.name,
        "dates": f"{start:%Y%m%dT%H%M%S}/{end:%Y%m%dT%H%M%S}",
        "ctz": meeting.zone,
        "details": details,
        "location": meeting.join_url or "",
    }
    if meeting.rrule:
        params["recur"] = f"RRULE:{meeting.rrule}"
    return f"{GOOGLE_TEMPLATE}?{urlencode({k: v for k, v in params.items() if v})}"


def og_description(view: PublicView) -> str:
    if not view.occurrences:
        return "No meetings are coming up."
    first = view.occurrences[0]
    return f"Next meeting: {first.name} — {format_fallback(first.start, first.zone)}"


def render_page(
    view: PublicView, *, community: str, zone: str, base_url: str, prefix: str = ""
) -> str:
    """The community's page; `prefix` is where it stands ("" at /, "/c/<key>" at /c/<key>/),
    which its own links (the feed, og:url) start with."""
    template = _env.get_template("page.html.j2")
    return template.render(
        view=view,
        community=community,
        community_zone=zone,
        base_url=base_url.rstrip("/"),
        prefix=prefix,
        webcal=webcal_url(base_url.rstrip("/") + prefix),
        og_description=og_description(view),
        time_tag=time_tag,
        date_tag=date_tag,
        google=google_calendar_url,
        survey_closes=lambda at: time_tag(at - timedelta(minutes=1), zone),
    )


@dataclass(frozen=True, slots=True)
class Listed:
    """A community in the listing at / of a deployment with several."""

    name: str
    url: str  # its page, /c/<key>/


def render_listing(communities: Sequence[Listed], *, base_url: str) -> str:
    template = _env.get_template("listing.html.j2")
    return template.render(communities=communities, base_url=base_url.rstrip("/"))
