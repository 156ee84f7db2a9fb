"""Business time of the firm's calendar: how many working seconds lie between two instants,
and which instant comes a number of working seconds after another.

A ``Calendar`` is weekly working intervals in wall-clock time of one IANA time zone, plus
holidays (local dates closed all day). Each local day's intervals are placed on that day in
that zone and only then compared with instants, so a 09:00-17:00 day lasts eight hours on the
days the clocks change too; only an interval that itself spans the change (00:00-24:00 on
the switch day, 01:00-04:00 across it) is an hour shorter or longer, as the wall clock says.
A wall time the change skips (02:30 in Berlin on the spring day) is read with the offset
before the change, as ``zoneinfo`` reads it; one that comes twice is its first occurrence.

A calendar with no working interval on any day is always open: every second counts. That
is the default (an empty ``SupportSettings.hours``), so SLA targets mean wall-clock time
until the firm sets its hours; it is never a calendar that is never open, in which no
target could ever fall due.

Interval ends are ``"HH:MM"``; ``"24:00"`` is the end of the day, so ``00:00-24:00`` on
every day is also always open (in that case the arithmetic walks the days). Instants are
aware datetimes; the arithmetic is exact on whole seconds (the clock's callers drop the
microseconds), and ``between`` answers in whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = "24:00"
# How far ``add`` looks ahead for working time before it gives up (a calendar whose every
# working day is a holiday for twenty years is a mistake, not a schedule).
HORIZON_DAYS = 366 * 20


class CalendarError(ValueError):
    """The hours, holidays or time zone given are not a calendar."""


def parse_clock_time(text: object) -> time | None:
    """``"HH:MM"`` as a time; None for ``"24:00"`` (the end of the day). CalendarError for
    anything else."""
    if text == END_OF_DAY:
        return None
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)")
    hours, minutes = text[:2], text[3:]
    if not (hours.isdigit() and minutes.isdigit()) or int(hours) > 23 or int(minutes) > 59:
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)")
    return time(int(hours), int(minutes))


def _minutes(moment: time | None) -> int:
    return 24 * 60 if moment is None else moment.hour * 60 + moment.minute


@dataclass(frozen=True)
class Calendar:
    """``hours``: weekday (0 Monday to 6 Sunday) to ``(start, end)`` wall times, ``end``
    None for the end of the day; ``holidays``: closed local dates. Build one with
    ``Calendar.of``."""

    zone: ZoneInfo
    hours: Mapping[int, tuple[tuple[time, time | None], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls,
        time_zone: str = "UTC",
        hours: Mapping[str, Iterable] | None = None,
        holidays: Iterable[str | date] = (),
    ) -> Calendar:
        """A calendar from the stored shape (``SupportSettings``): ``hours`` as
        ``{"mon": [["09:00", "17:00"], ...], ...}``, holidays as ``"YYYY-MM-DD"``.
        CalendarError for an unknown zone or weekday, a bad time, or an interval that does
        not end after it starts."""
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
            raise CalendarError(f"{time_zone!r} is not a time zone") from error
        parsed: dict[int, tuple[tuple[time, time | None], ...]] = {}
        for name, intervals in (hours or {}).items():
            if name not in WEEKDAYS:
                raise CalendarError(f"{name!r} is not a weekday ({', '.join(WEEKDAYS)})")
            day = []
            for interval in intervals or ():
                if not isinstance(interval, list | tuple) or len(interval) != 2:
                    raise CalendarError(f"{interval!r} is not a [start, end] pair")
                start, end = interval
                if start == END_OF_DAY:
                    raise CalendarError("an interval cannot start at 24:00")
                opens, closes = parse_clock_time(start), parse_clock_time(end)
                if _minutes(closes) <= _minutes(opens):
                    raise CalendarError(f"{start}-{end} does not end after it starts")
                day.append((opens, closes))
            if day:
                parsed[WEEKDAYS.index(name)] = tuple(sorted(day, key=lambda i: _minutes(i[0])))
        closed = set()
        for holiday in holidays:
            if isinstance(holiday, date):
                closed.add(holiday)
                continue
            try:
                closed.add(date.fromisoformat(holiday))
            except (TypeError, ValueError) as error:
                raise CalendarError(f"{holiday!r} is not a date (YYYY-MM-DD)") from error
        return cls(zone=zone, hours=parsed, holidays=frozenset(closed))

    @property
    def always_open(self) -> bool:
        """No working hours at all: every second is working time (see the module's note)."""
        return not self.hours

    # --- the working intervals of local days ---------------------------------------------

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working intervals as UTC instants, merged and in order."""
        if day in self.holidays:
            return []
        placed: list[tuple[datetime, datetime]] = []
        for opens, closes in self.hours.get(day.weekday(), ()):
            start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
            if closes is None:
                end_local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
            else:
                end_local = datetime.combine(day, closes, tzinfo=self.zone)
            end = end_local.astimezone(UTC)
            if end > start:  # an interval inside a skipped hour is empty
                placed.append((start, end))
        placed.sort()
        merged: list[tuple[datetime, datetime]] = []
        for start, end in placed:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def _intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals, clipped to begin no earlier than ``moment``, in order, for up
        to ``HORIZON_DAYS`` local days."""
        # The day before too: its last interval may end after the local midnight of a zone
        # whose offset is odd, and clipping drops what lies before ``moment``.
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            for start, end in self._day_intervals(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)

    # --- the arithmetic -------------------------------------------------------------------

    def between(self, start: datetime, end: datetime) -> int:
        """Working seconds from ``start`` to ``end`` (0 if ``end`` is not after ``start``)."""
        _aware(start, end)
        if end <= start:
            return 0
        if self.always_open:
            return int((end - start).total_seconds())
        total = timedelta()
        for opens, closes in self._intervals_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return int(total.total_seconds())

    def add(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant at which ``seconds`` working seconds have passed since
        ``start`` (``start`` itself for 0 or less). CalendarError if the calendar has no
        working time within ``HORIZON_DAYS``."""
        _aware(start)
        if seconds <= 0:
            return start
        if self.always_open:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for opens, closes in self._intervals_from(start):
            length = closes - opens
            if length >= left:
                return opens + left
            left -= length
        raise CalendarError("the calendar has no working time ahead")

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in working time."""
        _aware(moment)
        if self.always_open:
            return True
        return any(opens <= moment for opens, _ in self._first_interval(moment))

    def _first_interval(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        for interval in self._intervals_from(moment):
            return [interval]
        return []


def _aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("business time needs aware datetimes")
