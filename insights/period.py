"""The period a metrics request asks about: ``from`` and ``to`` dates (the period is
``[from, to)``, midnight to midnight in the firm's time zone) and ``since``, the date that
splits it for the before/after comparison."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.errors import Invalid

# Figures over a longer period than this are not asked for by anyone and cost more.
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 30
# "Active in the last 30 days": the days before ``to`` looked at.
RECENT_DAYS = 30


@dataclass(frozen=True)
class Period:
    first: dt.date  # the first day counted
    end: dt.date  # the day after the last one counted (``to``)
    since: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return midnight(self.first)

    @property
    def end_at(self) -> dt.datetime:
        return midnight(self.end)

    @property
    def since_at(self) -> dt.datetime:
        return midnight(self.since)

    @property
    def recent_at(self) -> dt.datetime:
        """The start of the 30 days before ``to``."""
        return midnight(self.end - dt.timedelta(days=RECENT_DAYS))

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def query(self) -> str:
        return "&".join(
            f"{name}={day.isoformat()}"
            for name, day in (("from", self.first), ("to", self.end), ("since", self.since))
        )

    def as_json(self) -> dict:
        return {
            "from": self.first.isoformat(),
            "to": self.end.isoformat(),
            "since": self.since.isoformat(),
            "days": self.days,
            "recent_from": (self.end - dt.timedelta(days=RECENT_DAYS)).isoformat(),
            "time_zone": timezone.get_default_timezone_name(),
        }


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def _date(value: object, name: str, fields: dict) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    fields[name] = "invalid"
    return None


def period_parse(*, first: object, end: object, since: object, today: dt.date) -> Period:
    """The period from ``?from=&to=&since=`` (YYYY-MM-DD each). Without ``to``: up to and
    including today; without ``from``: the 30 days before ``to``; without ``since``: the
    middle of the period. Invalid naming the field: ``invalid`` (not a date),
    ``not_after_from`` (``to`` on or before ``from``), ``too_long`` (over 1,098 days),
    ``outside_period`` (``since`` before ``from`` or after ``to``)."""
    fields: dict[str, str] = {}
    first_day = _date(first, "from", fields)
    end_day = _date(end, "to", fields)
    since_day = _date(since, "since", fields)
    if fields:
        raise Invalid("Dates are written YYYY-MM-DD.", code="bad_date", fields=fields)
    end_day = end_day or today + dt.timedelta(days=1)
    first_day = first_day or end_day - dt.timedelta(days=DEFAULT_DAYS)
    if end_day <= first_day:
        raise Invalid(
            "The period ends (to) after it starts (from).",
            code="bad_period",
            fields={"to": "not_after_from"},
        )
    if (end_day - first_day).days > MAX_DAYS:
        raise Invalid(
            f"A period is at most {MAX_DAYS} days.", code="bad_period", fields={"to": "too_long"}
        )
    if since_day is None:
        since_day = first_day + (end_day - first_day) / 2
    elif not first_day <= since_day <= end_day:
        raise Invalid(
            "since is a date within the period.",
            code="bad_period",
            fields={"since": "outside_period"},
        )
    return Period(first=first_day, end=end_day, since=since_day)
