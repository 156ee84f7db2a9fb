"""What the status page and the board keep of each account's plans
(``projects.selectors.account_plans``): every writer moves the account's plan version in its
transaction, so the pages show its change at once; privileged matters kept with the rest
reach their grantees only; one account's change reads that account's plans again and no
other's; queries stay constant with the plans kept and with none kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Matter, MatterStatus
from accounts.services import matters as matter_services
from approvals import services as approval_services
from projects import services
from projects.models import Milestone, PlanVersion, Task
from projects.plan_versions import plan_changed, plan_versions
from projects.selectors import account_plans
from projects.selectors.board import board_page
from projects.selectors.status import client_status
from tests import factories
from tests.projects.test_receivers import _ask, uploaded
from vault.models import Folder


def today() -> dt.date:
    return timezone.localdate()


def home(user):
    return client_status(user, today=today(), since=None)


def shown(user) -> dict:
    """The status page's matter rows of ``user``, by title."""
    return {row.matter.title: row for a in home(user).accounts for row in a.matters}


def waiting(user) -> list[str]:
    return [w.task.title for w in home(user).waiting]


def board(user) -> dict:
    return {row.matter.title: row for row in board_page(user, today=today(), size=100).rows}


def version(account) -> int:
    return plan_versions([account.pk])[account.pk]


@pytest.fixture
def rollout(people):
    return services.template_create(
        actor=people["firm_admin"],
        name="Rollout",
        milestones=[{"title": "Kick-off", "offset_days": 0}],
        tasks=[
            {"title": "Send the contract", "milestone": 0, "offset_days": 1, "for_client": True}
        ],
    )


def _task_added(ctx):
    services.task_add(
        actor=ctx.staff,
        matter=ctx.plan.matter,
        title="Sign the order",
        assignee=ctx.member.public_id,
    )
    return lambda: "Sign the order" in waiting(ctx.member)


def _task_edited(ctx):
    services.task_change(actor=ctx.staff, task=ctx.plan.mine, fields={"title": "Send the fonts"})
    return lambda: "Send the fonts" in waiting(ctx.member)


def _task_ticked(ctx):
    services.task_set_done(actor=ctx.member, task=ctx.plan.mine, done=True)
    return lambda: shown(ctx.member)["Website relaunch"].counts.done == 1


def _task_deleted(ctx):
    services.task_delete(actor=ctx.staff, task=ctx.plan.team)
    return lambda: shown(ctx.member)["Website relaunch"].counts.total == 2


def _upload_completes(ctx):
    brand = Folder.objects.create(account=ctx.acme, name="Brand assets")
    services.task_add(
        actor=ctx.staff,
        matter=ctx.plan.matter,
        title="Send the logo",
        kind="upload",
        folder=brand.public_id,
        assignee="client",
    )
    assert "Send the logo" in waiting(ctx.member)
    ctx.before = version(ctx.acme)
    with ctx.on_commit(execute=True):
        uploaded(ctx.member, ctx.acme, brand)
    return lambda: "Send the logo" not in waiting(ctx.member)


def _approval_completes(ctx):
    admin = ctx.people["client_admin"]
    with ctx.on_commit(execute=True):
        request = _ask(ctx.people, ctx.acme, [admin])
    services.task_add(
        actor=ctx.staff,
        matter=ctx.plan.matter,
        title="Approve the design",
        kind="approval",
        approval=request.public_id,
        assignee="client",
    )
    assert "Approve the design" in waiting(ctx.member)
    ctx.before = version(ctx.acme)
    with ctx.on_commit(execute=True):
        approval_services.approval_decide(actor=admin, request=request, verdict="approve")
    return lambda: "Approve the design" not in waiting(ctx.member)


def _milestone_added(ctx):
    services.milestone_add(
        actor=ctx.staff, matter=ctx.plan.matter, title="Brief", due=today().isoformat()
    )
    return lambda: shown(ctx.member)["Website relaunch"].next_milestone.title == "Brief"


def _milestone_edited(ctx):
    services.milestone_change(
        actor=ctx.staff, milestone=ctx.plan.design, fields={"title": "Visual design"}
    )
    return lambda: shown(ctx.member)["Website relaunch"].next_milestone.title == "Visual design"


def _milestone_moved(ctx):
    Milestone.objects.create(
        matter=ctx.plan.matter, title="Copy", due=ctx.plan.design.due, position=1
    )
    assert shown(ctx.member)["Website relaunch"].next_milestone.title == "Design"
    ctx.before = version(ctx.acme)
    copy = Milestone.objects.get(title="Copy")
    services.milestone_move(actor=ctx.staff, milestone=copy, step=-1)
    # Due the same day: the first by position is next.
    return lambda: shown(ctx.member)["Website relaunch"].next_milestone.title == "Copy"


def _milestone_deleted(ctx):
    services.milestone_delete(actor=ctx.staff, milestone=ctx.plan.design)
    return lambda: shown(ctx.member)["Website relaunch"].next_milestone is None


def _plan_created(ctx):
    services.matter_plan_create(actor=ctx.staff, account=ctx.acme, title="Trademark filing")
    return lambda: "Trademark filing" in shown(ctx.member)


def _plan_changed(ctx):
    target = today() + dt.timedelta(days=40)
    services.matter_plan_change(
        actor=ctx.staff, matter=ctx.plan.matter, fields={"target": target.isoformat()}
    )
    return lambda: shown(ctx.member)["Website relaunch"].matter.target_date == target


def _template_applied(ctx):
    services.template_instantiate(
        actor=ctx.staff, matter=ctx.plan.matter, template=ctx.rollout, start=today()
    )
    return lambda: shown(ctx.member)["Website relaunch"].counts.total == 4


def _matter_opened(ctx):
    matter_services.matter_create(actor=ctx.staff, account=ctx.acme, title="Annual review")
    return lambda: "Annual review" in shown(ctx.member)


def _matter_status(ctx):
    matter_services.matter_set_status(
        actor=ctx.staff, matter=ctx.plan.matter, status=MatterStatus.ON_HOLD
    )
    return lambda: shown(ctx.member)["Website relaunch"].matter.status == MatterStatus.ON_HOLD


def _matter_saved(ctx):
    # As the admin saves it: no service, no announcement.
    ctx.plan.matter.title = "Website rebuild"
    ctx.plan.matter.save()
    return lambda: "Website rebuild" in shown(ctx.member)


def _matter_deleted(ctx):
    ctx.plan.matter.delete()
    return lambda: "Website relaunch" not in shown(ctx.member)


WRITERS = {
    "task added": _task_added,
    "task edited": _task_edited,
    "task ticked": _task_ticked,
    "task deleted": _task_deleted,
    "upload task done by a document": _upload_completes,
    "approval task done by an approval": _approval_completes,
    "milestone added": _milestone_added,
    "milestone edited": _milestone_edited,
    "milestone moved": _milestone_moved,
    "milestone deleted": _milestone_deleted,
    "plan created": _plan_created,
    "plan changed": _plan_changed,
    "template applied": _template_applied,
    "matter opened": _matter_opened,
    "matter status": _matter_status,
    "matter saved": _matter_saved,
    "matter deleted": _matter_deleted,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_moves_the_version_and_the_page_shows_it_at_once(
    writer, plan, people, acme, globex, rollout, django_capture_on_commit_callbacks
):
    class Ctx:
        pass

    ctx = Ctx()
    ctx.plan, ctx.people, ctx.acme, ctx.rollout = plan, people, acme, rollout
    ctx.staff, ctx.member = people["staff_on_team"], people["client_member"]
    ctx.on_commit = django_capture_on_commit_callbacks
    factories.matter(globex, title="Merger")
    # Both accounts' plans kept, as the pages leave them.
    home(ctx.member)
    board(people["firm_admin"])
    ctx.before = version(acme)
    other = version(globex)
    shows_it = WRITERS[writer](ctx)
    assert version(acme) != ctx.before
    assert version(globex) == other
    assert shows_it()


def test_a_rolled_back_write_leaves_the_version(plan, people, acme):
    from django.db import transaction

    before = version(acme)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.task_set_done(actor=people["client_member"], task=plan.mine, done=True)
        assert version(acme) != before
        raise RuntimeError("undone")
    assert version(acme) == before


def test_a_new_account_has_a_version(db):
    account = factories.account("Initech")
    assert PlanVersion.objects.filter(account=account).exists()


def test_a_tick_shows_on_the_board_at_once(plan, people):
    admin = people["firm_admin"]
    assert board(admin)["Website relaunch"].counts.done == 0
    services.task_set_done(actor=people["staff_on_team"], task=plan.team, done=True)
    assert board(admin)["Website relaunch"].counts.done == 1


def test_a_change_in_one_account_reads_that_account_alone(plan, people, acme, globex, monkeypatch):
    factories.matter(globex, title="Merger")
    admin = people["firm_admin"]
    board(admin)
    kept_globex = cache.get(account_plans.plan_key(globex.pk, version(globex), today()))
    assert kept_globex is not None
    read: list[list[int]] = []
    real = account_plans._read

    def spy(ids, **kwargs):
        read.append(list(ids))
        return real(ids, **kwargs)

    monkeypatch.setattr(account_plans, "_read", spy)
    board(admin)
    assert read == []
    services.task_set_done(actor=people["staff_on_team"], task=plan.team, done=True)
    assert board(admin)["Website relaunch"].counts.done == 1
    assert read == [[acme.pk]]
    # Globex's plans were used as kept, under the same key.
    assert cache.get(account_plans.plan_key(globex.pk, version(globex), today())) == kept_globex
    # A person signing in changes nothing kept.
    people["client_member"].last_login = timezone.now()
    people["client_member"].save(update_fields=["last_login"])
    board(admin)
    home(people["client_member"])
    assert read == [[acme.pk]]


def test_a_version_moves_only_inside_the_changing_transaction(acme):
    before = version(acme)
    plan_changed(account_ids=[acme.pk, acme.pk])
    assert version(acme) != before
    assert PlanVersion.objects.filter(account=acme).count() == 1


def test_privileged_matters_reach_grantees_only_though_kept_for_all(plan, people, acme):
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]
    secret = factories.matter(acme, privileged=True, grants=(staff, admin), title="Secret deal")
    services.task_add(actor=staff, matter=secret, title="Sign the secret", assignee="client")
    services.task_add(actor=staff, matter=plan.matter, title="Sign the open one", assignee="client")
    # The grantee reads first: the account's plans, the secret matter among them, are kept.
    assert "Secret deal" in shown(admin)
    assert "Sign the secret" in waiting(admin)
    kept = version(acme)
    assert "Secret deal" not in shown(member)
    assert "Sign the secret" not in waiting(member)
    assert "Sign the open one" in waiting(member)
    assert "Secret deal" not in board(people["firm_admin"])
    assert "Secret deal" in board(staff)
    # A grant given or withdrawn moves no version: it is read with each request.
    matter_services.matter_grant(actor=staff, matter=secret, user=member)
    assert version(acme) == kept
    assert "Secret deal" in shown(member)
    assert "Sign the secret" in waiting(member)
    matter_services.matter_revoke(actor=staff, matter=secret, user=member)
    assert "Secret deal" not in shown(member)
    assert "Sign the secret" not in waiting(member)
    # The staff preview: only what both may see.
    preview = client_status(admin, today=today(), since=None, seen_by=people["firm_admin"])
    assert "Secret deal" not in {r.matter.title for a in preview.accounts for r in a.matters}
    assert "Sign the secret" not in [w.task.title for w in preview.waiting]


def test_a_team_change_shows_without_a_version(plan, people, acme):
    from accounts.models import TeamAssignment

    member = people["client_member"]
    (status,) = home(member).accounts
    names = {m.user.name for m in status.team}
    newcomer = factories.staff(name="Nina New")
    kept = version(acme)
    TeamAssignment.objects.create(account=acme, user=newcomer)
    (status,) = home(member).accounts
    assert {m.user.name for m in status.team} == names | {"Nina New"}
    assert version(acme) == kept


def _grow(account, owner, member, matters: int) -> None:
    for _ in range(matters):
        matter = factories.matter(account)
        matter.owner = owner
        matter.save(update_fields=["owner"])
        for m in range(3):
            milestone = Milestone.objects.create(
                matter=matter, title=f"M{m}", due=today() - dt.timedelta(days=m), position=m
            )
            for t in range(4):
                Task.objects.create(
                    matter=matter,
                    milestone=milestone,
                    title=f"T{m}{t}",
                    position=4 * m + t,
                    due=today() - dt.timedelta(days=t),
                    assignee=member if t == 0 else None,
                    for_client=t == 1,
                )


@pytest.mark.parametrize("page", ["home", "board"])
def test_queries_constant_in_matters_milestones_and_tasks_kept_or_not(page, people, acme, globex):
    staff, member = people["staff_on_team"], people["client_member"]
    secret = factories.matter(acme, privileged=True, grants=(member, staff))
    Task.objects.create(matter=secret, title="Hidden", position=0, for_client=True)

    def read():
        return home(member) if page == "home" else board_page(staff, today=today(), size=50)

    def counted() -> tuple[int, int]:
        cache.clear()
        with CaptureQueriesContext(connection) as cold:
            read()
        with CaptureQueriesContext(connection) as warm:
            read()
        return len(cold), len(warm)

    _grow(acme, staff, member, 1)
    small = counted()
    _grow(acme, staff, member, 6)
    _grow(globex, staff, member, 3)
    large = counted()
    assert large == small
    assert small[1] < small[0]


def test_the_board_reads_every_version_in_one_query_and_every_plan_in_one_cache_read(
    people, acme, globex, monkeypatch
):
    for account in (acme, globex, factories.account("Initech")):
        factories.matter(account)
    admin = people["firm_admin"]
    board_page(admin, today=today(), size=50)
    calls: list[int] = []
    real = account_plans.cache.get_many

    def get_many(keys):
        calls.append(len(keys))
        return real(keys)

    monkeypatch.setattr(account_plans.cache, "get_many", get_many)
    with CaptureQueriesContext(connection) as queries:
        board_page(admin, today=today(), size=50)
    assert calls == [3]
    assert sum("projects_planversion" in q["sql"] for q in queries.captured_queries) == 1


def test_a_failing_cache_is_read_around(plan, people, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(account_plans.cache, "get_many", broken)
    monkeypatch.setattr(account_plans.cache, "set_many", broken)
    assert "Website relaunch" in shown(people["client_member"])


def test_what_is_kept_of_a_day_is_not_read_the_next(plan, people):
    member = people["client_member"]
    late = plan.mine
    late.due = today()
    late.save(update_fields=["due"])
    first = client_status(member, today=today(), since=None)
    assert not first.waiting[0].overdue
    (account,) = first.accounts
    assert not account.matters[0].overdue
    tomorrow = client_status(member, today=today() + dt.timedelta(days=1), since=None)
    (account,) = tomorrow.accounts
    assert account.matters[0].overdue


def test_matter_rows_carry_owner_and_lazy_fields(plan, people):
    (row,) = shown(people["client_member"]).values()
    assert row.matter.owner == people["staff_on_team"]
    # A field the page does not keep is read on use, as after only().
    assert row.matter.description == Matter.objects.get(pk=row.matter.pk).description


def test_waiting_tasks_tied_on_a_day_come_in_title_then_position_order(people, acme, globex):
    member = people["client_member"]
    day = today() + dt.timedelta(days=3)
    made = []
    for title in ("beta", "Alpha", "gamma"):
        matter = factories.matter(acme, title=title)
        for position in range(9):
            made.append(
                Task.objects.create(
                    matter=matter,
                    title=f"{title} {position}",
                    position=position,
                    due=day,
                    assignee=member,
                )
            )
    Task.objects.create(
        matter=made[0].matter,
        title="Earlier",
        position=20,
        due=day - dt.timedelta(days=1),
        assignee=member,
    )
    page = home(member)
    expected = ["Earlier"]
    expected += [f"Alpha {p}" for p in range(9)] + [f"beta {p}" for p in range(9)]
    expected += ["gamma 0", "gamma 1"]
    assert [w.task.title for w in page.waiting] == expected[:20]
    assert page.more_waiting
