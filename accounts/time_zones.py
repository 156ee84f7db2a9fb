"""People's time zones: which names are valid, and showing every page in the reader's zone."""

from __future__ import annotations

import functools
import zoneinfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names this system knows, sorted (the profile page's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone(name: str) -> bool:
    return name in _known()


def zone_of(user) -> zoneinfo.ZoneInfo | None:
    """The person's chosen zone, or None for the deployment's own (blank or no longer known)."""
    name = getattr(user, "time_zone", "") or ""
    if not name or not is_time_zone(name):
        return None
    return zoneinfo.ZoneInfo(name)


class TimeZoneMiddleware:
    """Render every page of a signed-in person in their time zone (after authentication)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = zone_of(user) if user is not None and user.is_authenticated else None
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
