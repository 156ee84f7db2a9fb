"""Shared fixtures of the support tests: a category with SLA targets, the calendar, and a
clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from support import settings as support_settings
from tests import factories

# Hours of a normal week: Monday to Friday, 09:00-17:00.
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class FrozenClock:
    """``django.utils.timezone.now`` answering ``value`` until the test moves it."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def __call__(self) -> datetime:
        return self.value

    def move(self, **delta) -> datetime:
        self.value += timedelta(**delta)
        return self.value


@pytest.fixture
def frozen():
    """Time stands still at Monday 2026-03-02 10:00 UTC (a working hour) until moved."""
    clock = FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


@pytest.fixture
def office_hours(db):
    """The firm works 09:00-17:00 UTC on weekdays."""
    found = support_settings.current()
    found.time_zone = "UTC"
    found.hours = WEEKDAYS_9_TO_5
    found.save()
    return found


@pytest.fixture
def help_desk(db):
    """A firm-wide category with targets: normal 60 min / 8 h, urgent 15 min / 2 h."""
    return factories.category(
        "Help", targets={"normal": (60, 480), "urgent": (15, 120), "low": (None, None)}
    )
