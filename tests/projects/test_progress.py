"""Progress arithmetic and the counts behind every list of matters."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projects.models import Milestone, Task
from projects.progress import Counts, MilestoneStatus, is_overdue, milestone_status, percent
from projects.selectors.progress import matter_counts, milestone_counts, next_milestones
from tests import factories

TODAY = dt.date(2026, 3, 31)


@given(
    st.integers(min_value=0, max_value=10_000).flatmap(
        lambda total: st.tuples(st.integers(min_value=0, max_value=total), st.just(total))
    )
)
def test_percent_is_the_rounded_share_done(pair):
    done, total = pair
    expected = 0 if total == 0 else round(100 * done / total)
    assert percent(done, total) == expected
    assert 0 <= percent(done, total) <= 100
    # 100 % only when done, or so nearly done that it rounds there (199 of 200).
    if percent(done, total) == 100:
        assert 1000 * done >= 995 * total


@given(st.integers(min_value=1, max_value=500), st.integers(min_value=0, max_value=500))
def test_percent_never_falls_as_tasks_get_done(total, done):
    done = min(done, total - 1)
    assert percent(done, total) <= percent(done + 1, total)


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [
        (0, 0, 0),
        (0, 3, 0),
        (1, 3, 33),
        (2, 3, 67),
        (1, 8, 12),
        (3, 8, 38),
        (1, 200, 0),
        (3, 200, 2),
        (199, 200, 100),
        (5, 5, 100),
    ],
)
def test_percent_examples(done, total, expected):
    assert percent(done, total) == expected


@pytest.mark.parametrize(("done", "total"), [(-1, 3), (4, 3), (1, 0)])
def test_percent_refuses_impossible_counts(done, total):
    with pytest.raises(ValueError):
        percent(done, total)


def test_milestone_status_follows_its_tasks():
    assert milestone_status(0, 0) is MilestoneStatus.UPCOMING
    assert milestone_status(0, 4) is MilestoneStatus.UPCOMING
    assert milestone_status(1, 4) is MilestoneStatus.IN_PROGRESS
    assert milestone_status(4, 4) is MilestoneStatus.DONE
    assert Counts(total=4, done=1).progress == 25


def test_overdue_is_not_done_and_due_before_today():
    assert is_overdue(TODAY - dt.timedelta(days=1), done=False, today=TODAY)
    assert not is_overdue(TODAY, done=False, today=TODAY)
    assert not is_overdue(TODAY - dt.timedelta(days=1), done=True, today=TODAY)
    assert not is_overdue(None, done=False, today=TODAY)


def _plan(matter, *, milestones):
    """milestones: [(due, [done?, …]), …] in order."""
    made = []
    for position, (due, tasks) in enumerate(milestones):
        milestone = Milestone.objects.create(
            matter=matter, title=f"M{position}", due=due, position=position
        )
        for index, done in enumerate(tasks):
            Task.objects.create(
                matter=matter,
                milestone=milestone,
                title=f"T{position}.{index}",
                position=position * 100 + index,
                due=due,
                done_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) if done else None,
            )
        made.append(milestone)
    return made


@pytest.mark.django_db
def test_counts_and_next_milestones_take_constant_queries(django_assert_num_queries):
    account = factories.account()
    matters = [factories.matter(account) for _ in range(5)]
    plans = {}
    for n, matter in enumerate(matters):
        plans[matter.pk] = _plan(
            matter,
            milestones=[
                (TODAY - dt.timedelta(days=10), [True, True]),
                (TODAY + dt.timedelta(days=n), [True, False][: n % 3]),
                (TODAY + dt.timedelta(days=n), []),
            ],
        )
    empty = factories.matter(account)
    ids = [m.pk for m in matters] + [empty.pk]
    with django_assert_num_queries(3):
        counts = matter_counts(ids, today=TODAY)
        by_milestone = milestone_counts(
            [m.pk for plan in plans.values() for m in plan], today=TODAY
        )
        upcoming = next_milestones(ids)
    assert empty.pk not in counts and empty.pk not in upcoming
    first = matters[0]
    # n = 0: the second milestone has no task; the first is done.
    assert counts[first.pk] == Counts(total=2, done=2, overdue=0)
    assert upcoming[first.pk] == plans[first.pk][1]
    second = matters[1]  # n = 1: one done task in the second milestone, so it is done.
    assert counts[second.pk] == Counts(total=3, done=3, overdue=0)
    assert upcoming[second.pk] == plans[second.pk][2]
    third = matters[2]  # n = 2: one done, one open.
    assert counts[third.pk] == Counts(total=4, done=3, overdue=0)
    assert by_milestone[plans[third.pk][1].pk].progress == 50
    assert upcoming[third.pk] == plans[third.pk][1]


@pytest.mark.django_db
def test_overdue_counts_open_tasks_due_before_today():
    matter = factories.matter(factories.account())
    _plan(matter, milestones=[(TODAY - dt.timedelta(days=1), [False, True, False])])
    assert matter_counts([matter.pk], today=TODAY)[matter.pk] == Counts(total=3, done=1, overdue=2)
