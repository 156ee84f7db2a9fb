"""The firm's support settings: ticket categories and their SLA targets, queues and their
members, routing rules in their order, the business calendar, the reopen window and the
warning lead.

Every write here is a firm admin's (anyone else: Forbidden ``firm_admin_only``). Bad input is
Invalid naming the field (``error.fields``) and writes nothing. Tickets already open keep the
SLA targets they were opened with; a new calendar counts from the moment it is saved.

The writes live by subject: ``categories`` (categories and SLA targets), ``queues`` (queues,
members, routing rules) and this module (the calendar, the reopen window, the warning lead).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from collections.abc import Iterable, Mapping

from django.db import transaction

from accounts.errors import Invalid
from accounts.models import User
from accounts.time_zones import is_time_zone
from support import settings as support_settings
from support.models import SupportSettings
from support.services.checks import admin_only, whole_checked

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
MAX_HOLIDAYS = 400
MAX_INTERVALS_PER_DAY = 6
REOPEN_DAYS_MAX = 90
WARN_MINUTES_MAX = 10_080  # a week
SETTINGS_FIELDS = frozenset({"time_zone", "hours", "holidays", "reopen_days", "warn_minutes"})

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
END_OF_DAY = "24:00"


def settings_for_edit(*, actor: User) -> SupportSettings:
    admin_only(actor, "the support calendar")
    return support_settings.current()


# --- the calendar, the reopen window, the warning lead --------------------------------------


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _interval(value: object, field: str) -> list[str]:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split("-")]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = []
    if (
        len(parts) != 2
        or not all(isinstance(p, str) for p in parts)
        or not _CLOCK.match(parts[0])
        or not (_CLOCK.match(parts[1]) or parts[1] == END_OF_DAY)
    ):
        raise Invalid(
            f"{field}: working hours are written HH:MM-HH:MM (24-hour clock), such as 09:00-17:30.",
            code="bad_hours",
            fields={field: "format"},
        )
    start, end = parts
    if _minutes(start) >= _minutes(end):
        raise Invalid(
            f"{field}: {start}-{end} ends before it starts.",
            code="bad_hours",
            fields={field: "start_after_end"},
        )
    return [start, end]


def hours_checked(value: object) -> dict[str, list[list[str]]]:
    """Working hours by weekday (``{"mon": [["09:00", "17:30"]], …}``; an interval may also be
    written ``"09:00-17:30"``; an end may be ``24:00``, the end of the day): every weekday in
    the answer, a day not given is closed. No hours on any day is a calendar always open
    (``support.clock``): every second counts.
    Invalid naming the day (``hours_mon``): a bad clock time, an interval that ends before it
    starts, intervals that overlap, too many in a day, an unknown day."""
    if not isinstance(value, Mapping):
        raise Invalid("hours is an object by weekday.", fields={"hours": "invalid"})
    unknown = sorted(map(str, set(value) - set(WEEKDAYS)))
    if unknown:
        raise Invalid(
            f"Unknown weekday: {', '.join(unknown)} (mon to sun).",
            code="bad_hours",
            fields={"hours": "unknown_day"},
        )
    checked: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        field = f"hours_{day}"
        given = value.get(day) or []
        if not isinstance(given, list | tuple):
            raise Invalid(f"{field} is a list of intervals.", fields={field: "invalid"})
        if len(given) > MAX_INTERVALS_PER_DAY:
            raise Invalid(
                f"{field}: at most {MAX_INTERVALS_PER_DAY} intervals a day.",
                code="bad_hours",
                fields={field: "too_many"},
            )
        intervals = sorted((_interval(item, field) for item in given), key=lambda i: i[0])
        for before, after in itertools.pairwise(intervals):
            if _minutes(after[0]) < _minutes(before[1]):
                raise Invalid(
                    f"{field}: {before[0]}-{before[1]} and {after[0]}-{after[1]} overlap.",
                    code="bad_hours",
                    fields={field: "overlap"},
                )
        checked[day] = intervals
    return checked


def holidays_checked(value: object) -> list[str]:
    """Closed days as ``YYYY-MM-DD`` (text or dates), once each, in order. Invalid
    (``holidays``): not a date, too many."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise Invalid("holidays is a list of dates.", fields={"holidays": "invalid"})
    days: set[dt.date] = set()
    for item in value:
        if isinstance(item, dt.datetime):
            item = item.date()
        if isinstance(item, dt.date):
            days.add(item)
            continue
        try:
            days.add(dt.date.fromisoformat(str(item).strip()))
        except ValueError:
            raise Invalid(
                f"holidays: {str(item)[:20]!r} is not a date written YYYY-MM-DD.",
                code="bad_holiday",
                fields={"holidays": "format"},
            ) from None
        if len(days) > MAX_HOLIDAYS:
            break
    if len(days) > MAX_HOLIDAYS:
        raise Invalid(
            f"holidays: at most {MAX_HOLIDAYS}.",
            code="bad_holiday",
            fields={"holidays": "too_many"},
        )
    return [day.isoformat() for day in sorted(days)]


def support_settings_update(*, actor: User, **fields) -> SupportSettings:
    """Change the calendar (``time_zone``: an IANA name; ``hours``: ``hours_checked``;
    ``holidays``: ``holidays_checked``), ``reopen_days`` (0 to 90; 0: a reply never reopens a
    resolved ticket) and ``warn_minutes`` (1 to a week's). Invalid naming the field;
    ``unknown_field``; ``nothing_to_change``. Clocks of open tickets follow the new calendar
    from their next change."""
    admin_only(actor, "the support calendar")
    unknown = sorted(set(fields) - SETTINGS_FIELDS)
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(unknown)}.",
            code="unknown_field",
            fields=dict.fromkeys(unknown, "unknown"),
        )
    if not fields:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    changes: dict[str, object] = {}
    if "time_zone" in fields:
        zone = fields["time_zone"]
        if not isinstance(zone, str) or not is_time_zone(zone.strip()):
            raise Invalid(
                "time_zone: choose a time zone from the list (an IANA name such as Europe/Berlin).",
                code="unknown_time_zone",
                fields={"time_zone": "unknown"},
            )
        changes["time_zone"] = zone.strip()
    if "hours" in fields:
        changes["hours"] = hours_checked(fields["hours"])
    if "holidays" in fields:
        changes["holidays"] = holidays_checked(fields["holidays"])
    if "reopen_days" in fields:
        changes["reopen_days"] = whole_checked(
            fields["reopen_days"], "reopen_days", low=0, high=REOPEN_DAYS_MAX
        )
    if "warn_minutes" in fields:
        changes["warn_minutes"] = whole_checked(
            fields["warn_minutes"], "warn_minutes", low=1, high=WARN_MINUTES_MAX
        )
    with transaction.atomic():
        found = support_settings.current()
        found = SupportSettings.objects.select_for_update().get(pk=found.pk)
        for name, value in changes.items():
            setattr(found, name, value)
        found.save(update_fields=[*changes, "updated_at"])
    log.info("support: %s changed the support settings: %s", actor.public_id, sorted(changes))
    return found
