"""Where a matter page's timeline draws each milestone: a date axis from the matter's start to
its target, stretched to take in every milestone and today, and each date as a percentage of
its width.

The page's Content-Security-Policy allows no style attribute, so positions cannot go into
inline CSS; they become SVG coordinates (``x="37.5%"``), which are attributes of the drawing,
not styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from projects.selectors.plan import MatterPlan, PlannedMilestone

# The axis's ends sit this far in from the drawing's edges (percent), so that the marks at
# either end are drawn whole.
INSET = 3.0


@dataclass(frozen=True)
class Mark:
    number: int
    planned: PlannedMilestone
    x: str
    # Numbers of marks close together alternate above and below the line.
    label_below: bool

    @property
    def shape(self) -> str:
        """What the mark looks like: done, overdue, in progress or upcoming (each its own
        shape, never told apart by colour alone)."""
        if self.planned.overdue:
            return "overdue"
        return str(self.planned.status)


@dataclass(frozen=True)
class Axis:
    start: date
    end: date
    marks: list[Mark]
    # None when today is outside the axis (the plan has not started, or ended long ago).
    today_x: str | None


def _x(day: date, start: date, span_days: int) -> str:
    share = (day - start).days / span_days
    return f"{INSET + share * (100 - 2 * INSET):.2f}%"


def plan_axis(plan: MatterPlan) -> Axis | None:
    """The timeline of ``plan``, or None when there is nothing to draw (no milestone)."""
    if not plan.milestones:
        return None
    dues = [p.milestone.due for p in plan.milestones]
    matter = plan.matter
    start = min([matter.start_date or min(dues), *dues])
    end = max([matter.target_date or max(dues), *dues])
    if matter.start_date is None and plan.today < start:
        # Without a start date the plan starts today at the latest.
        start = plan.today
    if end <= start:
        end = start + timedelta(days=1)
    span = (end - start).days
    placed = [
        (float(_x(planned.milestone.due, start, span)[:-1]), number, planned)
        for number, planned in enumerate(plan.milestones, start=1)
    ]
    below_of: dict[int, bool] = {}
    previous = None
    below = False
    for value, number, _planned in sorted(placed, key=lambda row: (row[0], row[1])):
        # Two numbers within 4 % of the width would overlap on one side of the line.
        below = (not below) if previous is not None and value - previous < 4 else False
        previous = value
        below_of[number] = below
    marks = [
        Mark(number=number, planned=planned, x=f"{value:.2f}%", label_below=below_of[number])
        for value, number, planned in placed
    ]
    today_x = _x(plan.today, start, span) if start <= plan.today <= end else None
    return Axis(start=start, end=end, marks=marks, today_x=today_x)
