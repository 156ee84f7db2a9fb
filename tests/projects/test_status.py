"""The client's status page as data (``projects.selectors.status``) and the visits it counts
changes from (``projects.services.visits``)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import client_accounts
from projects.models import Change, Milestone, Task
from projects.selectors.status import (
    CHANGES_LIMIT,
    MATTERS_SHOWN,
    client_status,
    previous_visit,
)
from projects.services.visits import VISIT_GAP, status_visit
from tests import factories

TODAY = dt.date(2027, 1, 20)


def status_of(user, **kwargs):
    return client_status(user, today=TODAY, since=kwargs.pop("since", None), **kwargs)


def only_account(page):
    (account,) = page.accounts
    return account


def test_each_matter_with_its_progress_and_next_milestone(plan, people, acme):
    later = Milestone.objects.create(
        matter=plan.matter, title="Launch", due=dt.date(2027, 3, 1), position=1
    )
    Task.objects.create(matter=plan.matter, milestone=later, title="Go live", position=3)
    plan.team.done_at = timezone.now()
    plan.team.save(update_fields=["done_at"])
    empty = factories.matter(acme, title="Annual audit")

    account = only_account(status_of(people["client_member"]))
    assert account.account == acme
    rows = {row.matter.title: row for row in account.matters}
    relaunch = rows["Website relaunch"]
    assert (relaunch.counts.total, relaunch.counts.done, relaunch.progress) == (4, 1, 25)
    assert relaunch.next_milestone == plan.design
    assert rows[empty.title].progress == 0 and rows[empty.title].next_milestone is None


def test_a_matter_is_late_when_a_task_is_or_its_target_passed_unfinished(plan, people):
    member = people["client_member"]
    plan.design.due = TODAY
    plan.design.save(update_fields=["due"])
    row = only_account(status_of(member)).matters[0]
    assert not row.overdue and not row.next_milestone_overdue

    plan.team.due = TODAY - dt.timedelta(days=1)
    plan.team.save(update_fields=["due"])
    assert only_account(status_of(member)).matters[0].overdue
    plan.team.due = None
    plan.team.save(update_fields=["due"])

    plan.matter.target_date = TODAY - dt.timedelta(days=1)
    plan.matter.save(update_fields=["target_date"])
    assert only_account(status_of(member)).matters[0].overdue
    # Saved row by row: a queryset's update() sends no signal, so it would not move the
    # account's plan version (``projects.plan_versions``), and the page would keep its plan.
    for task in Task.objects.filter(matter=plan.matter):
        task.done_at = timezone.now()
        task.save(update_fields=["done_at"])
    row = only_account(status_of(member)).matters[0]
    assert row.finished and not row.overdue

    plan.design.due = TODAY - dt.timedelta(days=3)
    plan.design.save(update_fields=["due"])
    plan.mine.done_at = None
    plan.mine.save(update_fields=["done_at"])
    assert only_account(status_of(member)).matters[0].next_milestone_overdue


def test_waiting_on_you_is_yours_and_the_clients_late_first_then_by_due(plan, people, acme):
    member = people["client_member"]
    soon = Task.objects.create(
        matter=plan.matter, title="Pick a domain", for_client=True, due=TODAY, position=5
    )
    late = Task.objects.create(
        matter=plan.matter,
        title="Sign the order",
        assignee=member,
        due=TODAY - dt.timedelta(days=2),
        position=6,
    )
    Task.objects.create(
        matter=plan.matter,
        title="Already sent",
        assignee=member,
        done_at=timezone.now(),
        position=7,
    )
    page = status_of(member)
    assert [w.task for w in page.waiting] == [late, soon, plan.mine, plan.clients]
    assert [w.overdue for w in page.waiting] == [True, False, False, False]
    assert not page.more_waiting

    # Another client person of the account shares the client's tasks, not Morgan's own.
    admin_waiting = [w.task for w in status_of(people["client_admin"]).waiting]
    assert admin_waiting == [soon, plan.clients]
    # The firm's people wait on nothing here: a client's task is not theirs.
    assert [w.task for w in status_of(people["staff_on_team"]).waiting] == [plan.team]


def test_another_account_sees_nothing_of_it(plan, people, globex):
    Change.objects.create(matter=plan.matter, kind="task.done", summary="Sam ticked “Draft”")
    page = status_of(people["other_client"])
    assert [a.account for a in page.accounts] == [globex]
    assert page.accounts[0].matters == []
    assert page.waiting == [] and page.changes == []


def test_a_privileged_matter_stays_with_its_grantees(people, acme):
    member, admin = people["client_member"], people["client_admin"]
    secret = factories.matter(acme, title="Board dispute", privileged=True, grants=(member,))
    Task.objects.create(matter=secret, title="Confidential brief", for_client=True, position=0)
    Change.objects.create(matter=secret, kind="task.added", summary="Sam added “Confidential”")

    granted = status_of(member)
    assert [r.matter for r in only_account(granted).matters] == [secret]
    assert [w.task.title for w in granted.waiting] == ["Confidential brief"]
    assert [c.summary for c in granted.changes] == ["Sam added “Confidential”"]

    other = status_of(admin)
    assert only_account(other).matters == [] and other.waiting == [] and other.changes == []

    # Seen by staff on the team who hold no grant (the preview): left out too.
    previewed = status_of(member, seen_by=people["staff_on_team"])
    assert only_account(previewed).matters == [] and previewed.waiting == []
    assert previewed.changes == []


def test_one_account_only(plan, people, globex):
    member = people["client_member"]
    client_accounts.membership_add(actor=None, account=globex, user=member, role="member")
    assert len(status_of(member).accounts) == 2
    assert [a.account for a in status_of(member, account=globex).accounts] == [globex]


def test_changes_since_the_visit_newest_first_and_bounded(plan, people):
    then = timezone.now() - dt.timedelta(days=2)
    old = Change.objects.create(matter=plan.matter, kind="task.added", summary="old", at=then)
    new = [
        Change.objects.create(
            matter=plan.matter,
            kind="task.done",
            summary=f"change {n}",
            at=then + dt.timedelta(hours=n + 1),
        )
        for n in range(CHANGES_LIMIT + 3)
    ]
    member = people["client_member"]
    since = status_of(member, since=then + dt.timedelta(minutes=1)).changes
    assert since == list(reversed(new))[:CHANGES_LIMIT]
    assert old not in since
    first_visit = status_of(member, since=None).changes
    assert len(first_visit) == CHANGES_LIMIT and first_visit[0] == new[-1]


def test_the_team_lead_first_with_the_matters_each_leads(plan, people, acme):
    staff = people["staff_on_team"]
    lead = factories.staff(accounts=(acme,), name="Lena Lead")
    client_accounts.team_assign(actor=None, account=acme, user=lead, title="Partner", lead=True)
    factories.user(name="Not on the team")

    team = only_account(status_of(people["client_member"])).team
    assert [m.user for m in team] == [lead, staff]
    assert team[0].lead and team[0].title == "Partner" and team[0].owns == ()
    assert team[1].owns == (plan.matter,)


def test_queries_stay_constant_as_plans_grow(people, acme):
    member = people["client_member"]
    lead = factories.staff(accounts=(acme,))

    def grow(n: int) -> None:
        for _ in range(n):
            matter = factories.matter(acme)
            matter.owner = lead
            matter.save(update_fields=["owner"])
            for m in range(3):
                milestone = Milestone.objects.create(
                    matter=matter, title=f"M{m}", due=TODAY + dt.timedelta(days=m), position=m
                )
                for t in range(4):
                    Task.objects.create(
                        matter=matter,
                        milestone=milestone,
                        title=f"T{t}",
                        for_client=t % 2 == 0,
                        due=TODAY - dt.timedelta(days=t),
                        position=m * 4 + t,
                    )
            Change.objects.create(matter=matter, actor=lead, kind="task.added", summary="added")

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = status_of(member)
            # Everything the page reads of each row, to count any query it makes.
            seen = [
                (row.progress, row.overdue, row.next_milestone, row.matter.owner)
                for account in page.accounts
                for row in account.matters
            ]
            seen += [(m.user.name, m.owns) for account in page.accounts for m in account.team]
            seen += [
                (w.task.matter.account.name, w.task.milestone, w.task.folder, w.task.approval)
                for w in page.waiting
            ]
            seen += [(c.actor, c.matter.title) for c in page.changes]
        assert seen
        return len(queries)

    grow(1)
    one = cost()
    grow(6)
    assert cost() == one


def test_the_page_shows_a_bounded_list_what_needs_attention_first(people, acme):
    member = people["client_member"]
    quiet = []
    for i in range(MATTERS_SHOWN + 3):
        matter = factories.matter(acme, title=f"Quiet {i:02}")
        matter.target_date = TODAY + dt.timedelta(days=10 + i)
        matter.save(update_fields=["target_date"])
        quiet.append(matter)
    late = factories.matter(acme, title="Zz late")
    Task.objects.create(matter=late, title="Overdue", due=TODAY - dt.timedelta(days=1), position=0)
    past = factories.matter(acme, title="Zz past target")
    past.target_date = TODAY - dt.timedelta(days=3)
    past.save(update_fields=["target_date"])
    waiting = factories.matter(acme, title="Zz waiting")
    Task.objects.create(matter=waiting, title="Sign", for_client=True, position=0)
    finished = factories.matter(acme, title="Zz finished")
    finished.target_date = TODAY - dt.timedelta(days=3)
    finished.save(update_fields=["target_date"])
    Task.objects.create(matter=finished, title="Done", position=0, done_at=timezone.now())

    account = only_account(status_of(member))
    assert account.total == MATTERS_SHOWN + 7 and account.more
    titles = [row.matter.title for row in account.matters]
    assert len(titles) == MATTERS_SHOWN and titles == sorted(titles)
    # Late, past its target unfinished, waiting on the person: always shown; then the
    # nearest targets; a finished one past its target is not late.
    assert {"Zz late", "Zz past target", "Zz waiting"} <= set(titles)
    assert "Zz finished" not in titles
    assert [t for t in titles if t.startswith("Quiet")] == [
        m.title for m in quiet[: MATTERS_SHOWN - 3]
    ]
    rows = {row.matter.title: row for row in account.matters}
    assert rows["Zz late"].overdue and rows["Zz past target"].overdue
    assert not rows["Zz waiting"].overdue and rows["Zz waiting"].counts.total == 1


def test_a_visit_remembers_the_one_before(people):
    member = people["client_member"]
    start = timezone.now()
    assert status_visit(user=member, now=start) is None
    assert previous_visit(member) is None
    # Looking again soon after is the same visit: still a first one.
    assert status_visit(user=member, now=start + dt.timedelta(minutes=5)) is None
    later = start + dt.timedelta(minutes=5) + VISIT_GAP
    assert status_visit(user=member, now=later) == start + dt.timedelta(minutes=5)
    assert previous_visit(member) == start + dt.timedelta(minutes=5)
    # A reload within the visit keeps measuring from the same moment.
    assert status_visit(user=member, now=later + dt.timedelta(minutes=1)) == (
        start + dt.timedelta(minutes=5)
    )
