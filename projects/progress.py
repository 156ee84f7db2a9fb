"""Progress arithmetic, in one place for the API, the pages, the digest and the live events.

The progress of a milestone or a matter is the share of its tasks done, as an integer
percentage: ``round(100 * done / total)``, rounding half to even as Python's ``round`` does
(so 1 of 8 is 12 %, 3 of 8 is 38 %), and 0 with no task. A milestone's status follows: done
when every one of at least one task is done, in progress when some are, upcoming otherwise.
A milestone or task is overdue when it is not done and its due date is before today (in the
viewer's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models


class MilestoneStatus(models.TextChoices):
    UPCOMING = "upcoming", "Upcoming"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


def percent(done: int, total: int) -> int:
    """``round(100 * done / total)``, 0 with no task. ValueError unless 0 ≤ done ≤ total."""
    if not (isinstance(done, int) and isinstance(total, int)) or not 0 <= done <= total:
        raise ValueError(f"{done} done of {total}")
    if total == 0:
        return 0
    # Exact in integers: the float division could round a .5 the wrong way.
    quotient, remainder = divmod(100 * done, total)
    twice = 2 * remainder
    if twice > total or (twice == total and quotient % 2 == 1):
        quotient += 1
    return quotient


def milestone_status(done: int, total: int) -> MilestoneStatus:
    if total > 0 and done == total:
        return MilestoneStatus.DONE
    if done > 0:
        return MilestoneStatus.IN_PROGRESS
    return MilestoneStatus.UPCOMING


def is_overdue(due: date | None, *, done: bool, today: date) -> bool:
    return due is not None and not done and due < today


@dataclass(frozen=True)
class Counts:
    """Tasks of a matter or a milestone: how many, how many done, how many overdue."""

    total: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def progress(self) -> int:
        return percent(self.done, self.total)

    def as_json(self) -> dict:
        return {"total": self.total, "done": self.done, "overdue": self.overdue}
