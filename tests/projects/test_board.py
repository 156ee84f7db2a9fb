"""The staff board's selector: whose matters, in which order, with which figures, and in a
number of queries that does not grow with the matters, milestones and tasks."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Matter, MatterStatus, User
from projects.models import Milestone, Task
from projects.progress import Counts
from projects.selectors.board import board_page, staff_board
from projects.selectors.progress import matter_counts, next_milestones
from tests import factories

TODAY = dt.date(2026, 3, 31)
DONE_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def milestone(matter, due, *, position=0, tasks=()):
    """A milestone with tasks given as (due, done?) pairs."""
    made = Milestone.objects.create(matter=matter, title=f"M{position}", due=due, position=position)
    for index, (task_due, done) in enumerate(tasks):
        task(matter, task_due, done=done, milestone=made, position=position * 100 + index)
    return made


def task(matter, due, *, done=False, milestone=None, position=0):
    return Task.objects.create(
        matter=matter,
        milestone=milestone,
        title=f"T{position}",
        due=due,
        position=position,
        done_at=DONE_AT if done else None,
    )


def titles(rows) -> list[str]:
    return [row.matter.title for row in rows]


# --- whose matters ------------------------------------------------------------------------------


def test_staff_see_the_matters_of_the_clients_they_serve(people, acme, globex):
    ours = factories.matter(acme, title="Website relaunch")
    theirs = factories.matter(globex, title="Audit")
    secret = factories.matter(acme, privileged=True, title="Dispute")
    granted = factories.matter(
        acme, privileged=True, title="Merger", grants=(people["staff_on_team"],)
    )

    assert titles(staff_board(people["staff_on_team"], today=TODAY)) == sorted(
        [ours.title, granted.title]
    )
    assert titles(staff_board(people["staff_off_team"], today=TODAY)) == [theirs.title]
    # A firm admin serves every client, but a privileged matter still needs its grant.
    assert set(titles(staff_board(people["firm_admin"], today=TODAY))) == {
        ours.title,
        theirs.title,
    }
    assert secret.title not in titles(staff_board(people["firm_admin"], today=TODAY))


@pytest.mark.parametrize("role", ["client_admin", "client_member", "other_client"])
def test_clients_have_no_board(people, acme, role):
    factories.matter(acme)
    assert staff_board(people[role], today=TODAY) == []


def test_switched_off_staff_have_no_board(people, acme):
    factories.matter(acme)
    staff = people["staff_on_team"]
    User.objects.filter(pk=staff.pk).update(is_active=False)
    staff.refresh_from_db()
    assert staff_board(staff, today=TODAY) == []


def test_filters_by_client_and_by_owner(people, acme, globex):
    admin, staff = people["firm_admin"], people["staff_on_team"]
    mine = factories.matter(acme, title="Mine")
    factories.matter(acme, title="Nobody's")
    factories.matter(globex, title="Globex's")
    Matter.objects.filter(pk=mine.pk).update(owner=staff)

    assert titles(staff_board(admin, today=TODAY, account=acme)) == ["Mine", "Nobody's"]
    assert titles(staff_board(admin, today=TODAY, owner=staff)) == ["Mine"]
    assert titles(staff_board(admin, today=TODAY, account=globex, owner=staff)) == []
    # The account filter never widens what the user sees.
    assert staff_board(staff, today=TODAY, account=globex) == []


# --- what is late, and the order ----------------------------------------------------------------


def test_late_by_the_earliest_missed_task_milestone_or_target(acme, people):
    by_task = factories.matter(acme, title="By task")
    task(by_task, days(-3))
    task(by_task, days(-9), done=True)  # done: never late
    task(by_task, days(-1))

    by_milestone = factories.matter(acme, title="By milestone")
    milestone(by_milestone, days(-5))  # no task yet: not done
    milestone(by_milestone, days(-20), position=1, tasks=[(None, True)])  # done

    by_target = factories.matter(acme, title="By target")
    Matter.objects.filter(pk=by_target.pk).update(start_date=days(-30), target_date=days(-2))
    task(by_target, days(10))

    finished = factories.matter(acme, title="Finished past target")
    Matter.objects.filter(pk=finished.pk).update(start_date=days(-30), target_date=days(-8))
    task(finished, days(-9), done=True)

    marked_done = factories.matter(acme, title="Marked done")
    Matter.objects.filter(pk=marked_done.pk).update(
        start_date=days(-30), target_date=days(-8), status=MatterStatus.DONE
    )

    rows = {row.matter.title: row for row in staff_board(people["staff_on_team"], today=TODAY)}
    assert rows["By task"].days_late == 3
    assert rows["By task"].counts == Counts(total=3, done=1, overdue=2)
    assert rows["By task"].overdue_tasks == 2 and rows["By task"].overdue_milestones == 0
    assert rows["By milestone"].days_late == 5
    assert rows["By milestone"].overdue_milestones == 1
    assert rows["By target"].days_late == 2 and rows["By target"].past_target
    assert rows["Finished past target"].days_late == 0
    assert not rows["Finished past target"].past_target
    assert rows["Finished past target"].progress == 100
    assert rows["Marked done"].days_late == 0


def test_due_today_is_not_late(acme, people):
    matter = factories.matter(acme)
    task(matter, TODAY)
    milestone(matter, TODAY)
    (row,) = staff_board(people["staff_on_team"], today=TODAY)
    assert (row.days_late, row.overdue_tasks, row.overdue_milestones) == (0, 0, 0)
    assert not row.late


def test_most_days_late_first_then_nearest_target(acme, globex, people):
    admin = people["firm_admin"]

    def make(account, title, *, late=None, target=None):
        matter = factories.matter(account, title=title)
        if target is not None:
            Matter.objects.filter(pk=matter.pk).update(start_date=days(-60), target_date=target)
        if late is not None:
            task(matter, days(-late))
        return matter

    make(acme, "On time, far", target=days(40))
    make(globex, "Two days late", late=2, target=days(90))
    make(acme, "No target")
    make(acme, "On time, near", target=days(5))
    make(acme, "Ten days late", late=10, target=days(1))
    make(globex, "Also two days late", late=2, target=days(30))

    assert titles(staff_board(admin, today=TODAY)) == [
        "Ten days late",
        "Also two days late",  # two days late, nearer target
        "Two days late",
        "On time, near",
        "On time, far",
        "No target",
    ]


def test_next_milestone_and_owner(acme, people):
    staff = people["staff_on_team"]
    matter = factories.matter(acme)
    Matter.objects.filter(pk=matter.pk).update(owner=staff)
    milestone(matter, days(-4), tasks=[(None, True)])
    upcoming = milestone(matter, days(6), position=1, tasks=[(None, False)])
    (row,) = staff_board(staff, today=TODAY)
    assert row.next_milestone == upcoming
    assert row.owner == staff and row.account == acme
    assert row.progress == 50


def test_counts_and_next_milestone_agree_with_the_progress_selectors(acme, people):
    """The board orders by lateness read from open work only, and pages through it: it must
    answer as the plan read whole, and as the selectors every other list uses."""
    chance = random.Random(13)
    matters = []
    for n in range(25):
        matter = factories.matter(acme, title=f"Plan {n}")
        milestones = [
            milestone(matter, days(chance.randint(-20, 20)), position=p)
            for p in range(chance.randint(0, 5))
        ]
        for position in range(chance.randint(0, 12)):
            task(
                matter,
                chance.choice([None, days(chance.randint(-15, 15))]),
                done=chance.random() < 0.4,
                milestone=chance.choice([None, *milestones]),
                position=position,
            )
        matters.append(matter)
    ids = [m.pk for m in matters]
    counts, upcoming = matter_counts(ids, today=TODAY), next_milestones(ids)
    for row in staff_board(people["staff_on_team"], today=TODAY):
        pk = row.matter.pk
        assert row.counts == counts.get(pk, Counts()), row.matter.title
        expected = upcoming.get(pk)
        assert (row.next_milestone and row.next_milestone.pk) == (expected and expected.pk)
        # Lateness from open tasks and unfinished milestones, against the plan read whole.
        tasks = list(Task.objects.filter(matter_id=pk))
        late_tasks = [t.due for t in tasks if t.done_at is None and t.due and t.due < TODAY]
        late_milestones = [
            m.due
            for m in Milestone.objects.filter(matter_id=pk, due__lt=TODAY)
            if not (
                any(t.milestone_id == m.pk for t in tasks)
                and all(t.done_at for t in tasks if t.milestone_id == m.pk)
            )
        ]
        assert row.overdue_tasks == len(late_tasks)
        assert row.overdue_milestones == len(late_milestones)
        missed = late_tasks + late_milestones
        assert row.days_late == ((TODAY - min(missed)).days if missed else 0)
    # A page of the board is a slice of it, with the same rows.
    whole = staff_board(people["staff_on_team"], today=TODAY)
    seen, cursor = [], ""
    while True:
        page = board_page(people["staff_on_team"], today=TODAY, cursor=cursor, size=7)
        assert page.total == len(whole) and page.late == sum(r.late for r in whole)
        seen += page.rows
        if page.next is None:
            break
        cursor = page.next
    assert seen == whole
    assert board_page(people["staff_on_team"], today=TODAY, cursor="mat_gone", size=7) is None


# --- queries ------------------------------------------------------------------------------------


def _grow(account, n: int) -> None:
    for i in range(n):
        matter = factories.matter(account, title=f"Grown {account.name} {n}.{i}")
        for position in range(3):
            milestone(
                matter,
                days(position * 7 - 10),
                position=position,
                tasks=[(days(position * 7 - 12 + k), k % 2 == 0) for k in range(4)],
            )
        task(matter, days(-i))


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team"])
def test_queries_do_not_grow_with_matters_milestones_and_tasks(people, acme, globex, role):
    user = people[role]
    # Accessed once beforehand: the first use of a content type is cached for the process.
    staff_board(user, today=TODAY)
    _grow(acme, 1)
    with CaptureQueriesContext(connection) as small:
        rows = staff_board(user, today=TODAY)
        [(r.account.name, r.owner, r.next_milestone) for r in rows]
    _grow(acme, 6)
    _grow(globex, 6)
    with CaptureQueriesContext(connection) as large:
        rows = staff_board(user, today=TODAY)
        [(r.account.name, r.owner, r.next_milestone) for r in rows]
    assert len(rows) >= 7
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
