"""The business calendar (``support.clock``): working seconds between instants and instants
after working seconds, across weekends, holidays and DST changes, by example and by
property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.clock import Calendar, CalendarError

HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
NINE_TO_FIVE = {day: [["09:00", "17:00"]] for day in WEEKDAYS}
SPLIT_DAY = {day: [["08:30", "12:00"], ["13:00", "17:30"]] for day in WEEKDAYS} | {
    "sat": [["10:00", "14:00"]]
}
ROUND_THE_CLOCK = {
    day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
NIGHTS = {day: [["00:00", "03:30"], ["22:00", "24:00"]] for day in WEEKDAYS}

BERLIN = Calendar.of("Europe/Berlin", NINE_TO_FIVE, ["2026-12-25", "2026-12-24"])
NEW_YORK = Calendar.of("America/New_York", SPLIT_DAY, ["2026-11-26"])
CALENDARS = [
    BERLIN,
    NEW_YORK,
    Calendar.of("UTC"),
    Calendar.of("Europe/Berlin", ROUND_THE_CLOCK),
    Calendar.of("America/New_York", NIGHTS, ["2026-03-09"]),
    Calendar.of("Australia/Lord_Howe", NINE_TO_FIVE),  # a half-hour DST shift
]


def at(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


# --- by example ----------------------------------------------------------------------------


def test_a_working_day_counts_its_hours_and_a_weekend_none():
    friday_morning = at("Europe/Berlin", 2026, 1, 9, 8, 0)  # before opening
    monday_noon = at("Europe/Berlin", 2026, 1, 12, 12, 0)
    assert BERLIN.between(friday_morning, monday_noon) == (8 + 3) * HOUR
    saturday = at("Europe/Berlin", 2026, 1, 10, 10, 0)
    assert BERLIN.between(saturday, saturday + timedelta(days=1)) == 0


def test_adding_carries_over_the_weekend_to_monday():
    friday_four = at("Europe/Berlin", 2026, 1, 9, 16, 0)
    assert BERLIN.add(friday_four, 2 * HOUR) == at("Europe/Berlin", 2026, 1, 12, 10, 0)
    # Starting in closed time waits for the opening.
    saturday = at("Europe/Berlin", 2026, 1, 10, 12, 0)
    assert BERLIN.add(saturday, HOUR) == at("Europe/Berlin", 2026, 1, 12, 10, 0)


def test_holidays_are_closed_all_day():
    christmas_eve = at("Europe/Berlin", 2026, 12, 24, 9, 0)  # a Thursday, and a holiday
    assert BERLIN.between(christmas_eve, christmas_eve + timedelta(hours=8)) == 0
    # Thursday and Friday are holidays: the next working hour is on Monday 28th.
    assert BERLIN.add(at("Europe/Berlin", 2026, 12, 23, 16, 0), 2 * HOUR) == at(
        "Europe/Berlin", 2026, 12, 28, 10, 0
    )


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", (2026, 3, 30)),  # the Monday after the spring change (29th)
        ("Europe/Berlin", (2026, 10, 26)),  # after the autumn change (25th)
        ("America/New_York", (2026, 3, 9)),  # after the spring change (8th)
        ("America/New_York", (2026, 11, 2)),  # after the autumn change (1st)
    ],
)
def test_a_nine_to_five_day_is_eight_hours_around_dst_changes(zone, day):
    calendar = Calendar.of(zone, NINE_TO_FIVE)
    start = at(zone, *day, 0, 0)
    assert calendar.between(start, start + timedelta(days=1)) == 8 * HOUR
    assert calendar.add(at(zone, *day, 9, 0), 8 * HOUR) == at(zone, *day, 17, 0)


def test_a_whole_day_on_the_switch_day_is_the_wall_clock_s_length():
    calendar = Calendar.of("Europe/Berlin", ROUND_THE_CLOCK)
    spring = at("Europe/Berlin", 2026, 3, 29, 0, 0)
    autumn = at("Europe/Berlin", 2026, 10, 25, 0, 0)
    assert calendar.between(spring, at("Europe/Berlin", 2026, 3, 30, 0, 0)) == 23 * HOUR
    assert calendar.between(autumn, at("Europe/Berlin", 2026, 10, 26, 0, 0)) == 25 * HOUR


def test_an_interval_spanning_the_switch_is_an_hour_shorter():
    calendar = Calendar.of("America/New_York", {"sun": [["01:00", "04:00"]]})
    day_start = at("America/New_York", 2026, 3, 8, 0, 0)
    assert calendar.between(day_start, day_start + timedelta(days=1)) == 2 * HOUR


def test_no_hours_at_all_is_always_open():
    calendar = Calendar.of("Europe/Berlin", {"mon": []})
    assert calendar.always_open
    start = at("Europe/Berlin", 2026, 3, 28, 23, 0)  # across a weekend and a DST change
    assert calendar.between(start, start + timedelta(days=2)) == 48 * HOUR
    assert calendar.add(start, 5) == start + timedelta(seconds=5)


def test_round_the_clock_hours_count_every_second():
    calendar = Calendar.of("UTC", ROUND_THE_CLOCK)
    start = datetime(2026, 5, 1, 13, 7, 11, tzinfo=UTC)
    assert calendar.between(start, start + timedelta(days=9, seconds=17)) == 9 * 86400 + 17
    assert calendar.add(start, 86400 * 3 + 1) == start + timedelta(days=3, seconds=1)


@pytest.mark.parametrize(
    ("zone", "hours", "holidays"),
    [
        ("Mars/Olympus", {}, []),
        ("UTC", {"monday": [["09:00", "17:00"]]}, []),
        ("UTC", {"mon": [["17:00", "09:00"]]}, []),
        ("UTC", {"mon": [["9:00", "17:00"]]}, []),
        ("UTC", {"mon": [["24:00", "24:00"]]}, []),
        ("UTC", {"mon": [["09:00"]]}, []),
        ("UTC", {}, ["2026-02-30"]),
    ],
)
def test_what_is_not_a_calendar_is_refused(zone, hours, holidays):
    with pytest.raises(CalendarError):
        Calendar.of(zone, hours, holidays)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        BERLIN.between(datetime(2026, 1, 1), datetime(2026, 1, 2))  # noqa: DTZ001


# --- by property ---------------------------------------------------------------------------

# Whole seconds over two years around the DST changes of 2026.
instants = st.integers(
    min_value=int(datetime(2025, 12, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2027, 1, 31, tzinfo=UTC).timestamp()),
).map(lambda s: datetime.fromtimestamp(s, tz=UTC))
calendars = st.sampled_from(CALENDARS)
spans = st.integers(min_value=0, max_value=40 * 24 * HOUR)

PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(calendars, instants, instants)
def test_adding_what_lies_between_lands_no_later_and_counts_the_same(calendar, start, end):
    if end < start:
        start, end = end, start
    seconds = calendar.between(start, end)
    landed = calendar.add(start, seconds)
    assert start <= landed <= end
    assert calendar.between(start, landed) == seconds


@PROPERTY
@given(calendars, instants, spans)
def test_what_is_added_is_what_lies_between(calendar, start, seconds):
    assert calendar.between(start, calendar.add(start, seconds)) == seconds


@PROPERTY
@given(calendars, instants, instants, instants)
def test_working_time_adds_up_over_split_points(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
    assert calendar.between(a, c) <= int((c - a).total_seconds())


@PROPERTY
@given(calendars, instants, spans, spans)
def test_adding_is_monotonic_and_composes(calendar, start, first, second):
    lower, higher = sorted((first, second))
    assert calendar.add(start, lower) <= calendar.add(start, higher)
    # Adding in two steps (a pause in between changes nothing if no time passes) is adding once.
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@PROPERTY
@given(calendars, instants, instants, instants, instants)
def test_a_paused_clock_counts_only_its_running_stretches(calendar, a, b, c, d):
    """Running a to b, paused b to c, running again c to d: the used seconds are the sum of
    the two stretches, and the due time computed on resuming is where the remaining target
    runs out, counted from c."""
    a, b, c, d = sorted((a, b, c, d))
    used = calendar.between(a, b)
    total = used + calendar.between(c, d)
    assert total == calendar.between(a, d) - calendar.between(b, c)
    due = calendar.add(c, total - used)
    assert calendar.between(c, due) == calendar.between(c, d)
    assert due <= d


@PROPERTY
@given(st.sampled_from([BERLIN, NEW_YORK]), instants, spans)
def test_an_instant_reached_by_adding_is_in_working_time_or_its_edge(calendar, start, seconds):
    landed = calendar.add(start, max(seconds, 1))
    before = landed - timedelta(seconds=1)
    assert calendar.is_open(before)
