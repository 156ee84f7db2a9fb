"""A matter's page: the plan's timeline (milestones on a date axis, done, overdue and today
visible at a glance and said in words) and its task list, and the forms the account team edits
the plan with; ticking a task from the page; a new matter started from a template."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Matter
from frontend.plan_timeline import INSET, plan_axis
from projects import services as plan_services
from projects.models import Milestone, Task
from projects.progress import Counts, MilestoneStatus
from projects.selectors.plan import MatterPlan, PlannedMilestone, matter_plan
from tests import factories

TODAY = dt.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    """The pages' "today" (``timezone.localdate``), fixed so that overdue is certain."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def milestone(matter: Matter, title: str, due: dt.date, position: int) -> Milestone:
    return Milestone.objects.create(matter=matter, title=title, due=due, position=position)


def task(matter: Matter, title: str, position: int, **fields) -> Task:
    return Task.objects.create(matter=matter, title=title, position=position, **fields)


def page_of(client, matter: Matter):
    return client.get(reverse("frontend:matter", args=[matter.public_id]))


@pytest.fixture
def relaunch(acme, people):
    """A plan part done: one milestone done, one overdue, one upcoming, and a loose task."""
    matter = factories.matter(acme, title="Website relaunch")
    Matter.objects.filter(pk=matter.pk).update(
        start_date=dt.date(2026, 11, 1), target_date=dt.date(2027, 1, 31)
    )
    matter.refresh_from_db()
    design = milestone(matter, "Design approved", dt.date(2026, 11, 20), 0)
    build = milestone(matter, "Pages built", dt.date(2026, 12, 1), 1)
    launch = milestone(matter, "Launch", dt.date(2027, 1, 31), 2)
    done_at = timezone.now()
    task(matter, "Send the logo files", 0, milestone=design, for_client=True, done_at=done_at)
    task(matter, "Build the home page", 1, milestone=build, due=dt.date(2026, 12, 1))
    task(
        matter,
        "Build the contact page",
        2,
        milestone=build,
        assignee=people["staff_on_team"],
        done_at=done_at,
    )
    task(matter, "Sign the go-live", 3, milestone=launch, for_client=True)
    task(matter, "Order the domain", 4, assignee=people["client_member"])
    return matter


# --- the timeline -----------------------------------------------------------------------------


def test_the_axis_runs_from_start_to_target_and_places_each_milestone(relaunch):
    axis = plan_axis(matter_plan(relaunch, today=TODAY))
    assert (axis.start, axis.end) == (dt.date(2026, 11, 1), dt.date(2027, 1, 31))
    span = (axis.end - axis.start).days
    for mark in axis.marks:
        share = (mark.planned.milestone.due - axis.start).days / span
        assert mark.x == f"{INSET + share * (100 - 2 * INSET):.2f}%"
    assert [m.shape for m in axis.marks] == ["done", "overdue", "upcoming"]
    assert axis.marks[-1].x == f"{100 - INSET:.2f}%"
    assert axis.today_x == f"{INSET + (TODAY - axis.start).days / span * (100 - 2 * INSET):.2f}%"


def test_the_axis_takes_in_milestones_outside_the_dates_and_hides_a_distant_today(acme):
    matter = factories.matter(acme)
    Matter.objects.filter(pk=matter.pk).update(
        start_date=dt.date(2027, 3, 1), target_date=dt.date(2027, 3, 10)
    )
    matter.refresh_from_db()
    milestone(matter, "Early", dt.date(2027, 2, 1), 0)
    milestone(matter, "Late", dt.date(2027, 4, 1), 1)
    axis = plan_axis(matter_plan(matter, today=TODAY))
    assert (axis.start, axis.end) == (dt.date(2027, 2, 1), dt.date(2027, 4, 1))
    assert [m.x for m in axis.marks] == [f"{INSET:.2f}%", f"{100 - INSET:.2f}%"]
    assert axis.today_x is None


def test_one_day_plans_and_close_milestones_stay_drawable(acme):
    matter = factories.matter(acme)
    for position in range(3):
        milestone(matter, f"Same day {position}", dt.date(2027, 1, 1), position)
    axis = plan_axis(matter_plan(matter, today=dt.date(2027, 1, 1)))
    assert axis.end - axis.start == dt.timedelta(days=1)
    # Numbers of marks on one spot alternate above and below the line.
    assert [m.label_below for m in axis.marks] == [False, True, False]
    assert plan_axis(matter_plan(factories.matter(acme), today=TODAY)) is None


days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))


@given(
    start=st.none() | days,
    target=st.none() | days,
    dues=st.lists(days, min_size=1, max_size=30),
    today=days,
)
def test_every_mark_lies_on_the_axis_in_date_order(start, target, dues, today):
    plan = MatterPlan(
        matter=Matter(start_date=start, target_date=target),
        today=today,
        milestones=[
            PlannedMilestone(
                milestone=Milestone(title=f"M{n}", due=due, position=n),
                counts=Counts(),
                status=MilestoneStatus.UPCOMING,
                overdue=False,
            )
            for n, due in enumerate(dues)
        ],
        loose_tasks=[],
        counts=Counts(),
    )
    axis = plan_axis(plan)
    assert axis.start < axis.end
    assert axis.start <= min(dues) and max(dues) <= axis.end
    placed = sorted((m.planned.milestone.due, float(m.x[:-1])) for m in axis.marks)
    assert all(INSET <= x <= 100 - INSET for _due, x in placed)
    assert [x for _due, x in placed] == sorted(x for _due, x in placed)
    if axis.today_x is not None:
        assert axis.start <= today <= axis.end
        assert INSET <= float(axis.today_x[:-1]) <= 100 - INSET


def test_the_page_draws_the_timeline_and_says_it_in_words(client, people, relaunch):
    client.force_login(people["client_member"])
    response = page_of(client, relaunch)
    assert response.status_code == 200
    html = response.content.decode()
    svg = html[html.index('<svg class="plan-axis"') : html.index('<div class="plan-axis-ends"')]
    assert 'aria-hidden="true"' in svg.split(">")[0]
    assert len(re.findall(r'class="plan-mark plan-mark--(\w+)"', svg)) == 3
    assert re.findall(r'class="plan-mark plan-mark--(\w+)"', svg) == [
        "done",
        "overdue",
        "upcoming",
    ]
    assert 'class="plan-axis-today"' in svg
    words = html[html.index('id="milestones"') : html.index('id="tasks"')]
    for title, state in (
        ("Design approved", "Done"),
        ("Pages built", "Overdue"),
        ("Launch", "Upcoming"),
    ):
        item = words[words.index(title) :]
        assert f"<span>{state}</span>" in item[: item.index("</li>")]
    assert "1 of 2 tasks done · 50 %" in words
    assert "3 milestones, from 1 November 2026 to 31 January 2027; today is 7 December 2026" in html
    # Progress: 2 of 5 tasks.
    assert 'max="100" value="40"' in html
    assert "<strong>40 %</strong> done: 2 of 5 tasks, " in html
    # The page keeps the CSP: positions are SVG attributes, never style attributes.
    assert " style=" not in html
    assert "frontend/js/matter_plan.js" in html
    assert html.count("data-plan-region=") == 3


def test_the_task_list_is_grouped_by_milestone_with_who_when_and_how(client, people, relaunch):
    client.force_login(people["client_member"])
    html = page_of(client, relaunch).content.decode()
    tasks = html[html.index('id="tasks-h"') :]
    headings = re.findall(r'<h3 id="tasks-[^"]+">([^<]+)</h3>', tasks)
    assert headings == ["Design approved", "Pages built", "Launch", "Not in a milestone"]
    home_page = tasks[tasks.index("Build the home page") :]
    home_page = home_page[: home_page.index("</tr>")]
    assert "Nobody yet" in home_page
    assert '<time datetime="2026-12-01">1 Dec 2026</time>' in home_page
    assert "<span>Overdue</span>" in home_page
    logo = tasks[tasks.index("Send the logo files") :]
    assert "The client" in logo[: logo.index("</tr>")]
    assert "<span>Done</span>" in logo[: logo.index("</tr>")]


def test_tick_buttons_only_where_the_viewer_may_tick(client, people, relaunch):
    def tickable(who):
        client.force_login(people[who])
        html = page_of(client, relaunch).content.decode()
        return set(
            re.findall(
                r'<button type="submit" class="button--small">Mark (?:not )?done'
                r'<span class="visually-hidden"> “([^<]+)”</span>',
                html,
            )
        )

    # The client's people: the client's tasks and their own; never the firm's.
    assert tickable("client_member") == {
        "Send the logo files",
        "Sign the go-live",
        "Order the domain",
    }
    assert tickable("client_admin") == {"Send the logo files", "Sign the go-live"}
    assert len(tickable("staff_on_team")) == 5


def test_only_the_account_team_gets_the_plan_forms(client, people, relaunch):
    for who, forms_shown in (
        ("staff_on_team", True),
        ("firm_admin", True),
        ("client_admin", False),
        ("client_member", False),
    ):
        client.force_login(people[who])
        html = page_of(client, relaunch).content.decode()
        for name in ("matter_plan", "milestone_create", "task_create"):
            url = reverse(f"frontend:{name}", args=[relaunch.public_id])
            assert (f'action="{url}"' in html) is forms_shown, (who, name)
        assert ("Edit<span" in html) is forms_shown


def test_the_page_is_not_found_outside_the_matters_readers(client, people, acme):
    secret = factories.matter(acme, privileged=True, grants=(people["client_admin"],))
    milestone(secret, "Disclosure", dt.date(2027, 1, 1), 0)
    for who, status in (
        ("client_admin", 200),
        ("client_member", 404),
        ("staff_off_team", 404),
        ("other_client", 404),
    ):
        client.force_login(people[who])
        assert page_of(client, secret).status_code == status, who


def _queries(client, matter) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert page_of(client, matter).status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["staff_on_team", "client_member"])
def test_the_page_costs_the_same_queries_whatever_the_plans_size(client, people, acme, who):
    small, large = factories.matter(acme), factories.matter(acme)
    for matter, milestones, per in ((small, 1, 1), (large, 12, 15)):
        for m in range(milestones):
            step = milestone(matter, f"Step {m}", TODAY + dt.timedelta(days=m * 7 - 20), m)
            for n in range(per):
                task(
                    matter,
                    f"Task {m}.{n}",
                    m * per + n,
                    milestone=step,
                    due=TODAY + dt.timedelta(days=n - 3),
                    for_client=n % 3 == 0,
                    assignee=people["client_member"] if n % 3 == 1 else None,
                    done_at=timezone.now() if n % 2 else None,
                )
        task(matter, "Loose", 10_000)
    client.force_login(people[who])
    _queries(client, small)  # warm: the session, the firm
    assert _queries(client, large) == _queries(client, small)


# --- editing the plan -------------------------------------------------------------------------


def post(client, name: str, public_id: str, data: dict):
    return client.post(reverse(f"frontend:{name}", args=[public_id]), data)


def test_the_team_adds_a_milestone_and_a_task_to_it(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    response = post(
        client, "milestone_create", relaunch.public_id, {"title": "Content", "due": "2027-01-10"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#timeline")
    content = Milestone.objects.get(matter=relaunch, title="Content")
    assert content.due == dt.date(2027, 1, 10)
    response = post(
        client,
        "task_create",
        relaunch.public_id,
        {
            "title": "Write the about page",
            "milestone": content.public_id,
            "assignee": "client",
            "due": "2027-01-05",
            "kind": "todo",
        },
    )
    assert response.status_code == 302
    added = Task.objects.get(title="Write the about page")
    assert (added.milestone, added.for_client, added.due) == (content, True, dt.date(2027, 1, 5))
    html = page_of(client, relaunch).content.decode()
    assert '<h3 id="tasks-' + content.public_id + '">Content</h3>' in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "due": "2027-01-10"}, "title"),
        ({"title": "Content", "due": "10/01/2027"}, "due"),
        ({"title": "Content", "due": ""}, "due"),
        ({"title": "x" * 201, "due": "2027-01-10"}, "title"),
    ],
)
def test_a_bad_milestone_is_refused_at_its_field_and_nothing_is_written(
    client, people, relaunch, data, field
):
    client.force_login(people["staff_on_team"])
    response = post(client, "milestone_create", relaunch.public_id, data)
    assert response.status_code == 400
    assert response.context["milestone_form"].errors[field]
    assert response.context["open_form"] == "milestone_form"
    assert Milestone.objects.filter(matter=relaunch).count() == 3


def test_a_task_cannot_join_a_milestone_of_another_matter(client, people, acme, relaunch):
    other = factories.matter(acme)
    elsewhere = milestone(other, "Elsewhere", dt.date(2027, 1, 1), 0)
    client.force_login(people["staff_on_team"])
    before = Task.objects.count()
    response = post(
        client,
        "task_create",
        relaunch.public_id,
        {"title": "Stray", "milestone": elsewhere.public_id, "kind": "todo"},
    )
    assert response.status_code == 400
    assert response.context["task_form"].errors["milestone"]
    assert Task.objects.count() == before


def test_an_upload_task_needs_its_folder_said_at_the_field(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    before = Task.objects.count()
    response = post(
        client, "task_create", relaunch.public_id, {"title": "Send the brief", "kind": "upload"}
    )
    assert response.status_code == 400
    assert response.context["task_form"].errors["folder"]
    assert Task.objects.count() == before


def test_milestones_move_earlier_and_later(client, people, relaunch):
    client.force_login(people["staff_on_team"])

    def order():
        return list(
            Milestone.objects.filter(matter=relaunch)
            .order_by("position")
            .values_list("title", flat=True)
        )

    launch = Milestone.objects.get(matter=relaunch, title="Launch")
    design = Milestone.objects.get(matter=relaunch, title="Design approved")
    assert post(client, "milestone_change", launch.public_id, {"action": "up"}).status_code == 302
    assert order() == ["Design approved", "Launch", "Pages built"]
    post(client, "milestone_change", design.public_id, {"action": "down"})
    assert order() == ["Launch", "Design approved", "Pages built"]
    # At an end already: nothing moves.
    post(client, "milestone_change", launch.public_id, {"action": "up"})
    assert order() == ["Launch", "Design approved", "Pages built"]


def test_a_milestone_is_edited_on_its_page(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    launch = Milestone.objects.get(matter=relaunch, title="Launch")
    page = client.get(reverse("frontend:milestone_change", args=[launch.public_id]))
    assert page.status_code == 200
    assert 'value="2027-01-31"' in page.content.decode()
    response = post(
        client,
        "milestone_change",
        launch.public_id,
        {"action": "edit", "title": "Go live", "due": "2027-02-14"},
    )
    assert response.status_code == 302
    launch.refresh_from_db()
    assert (launch.title, launch.due) == ("Go live", dt.date(2027, 2, 14))
    response = post(
        client, "milestone_change", launch.public_id, {"action": "edit", "title": "", "due": "x"}
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"title", "due"}
    launch.refresh_from_db()
    assert launch.title == "Go live"


def test_deleting_a_milestone_asks_first_and_keeps_its_tasks(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    build = Milestone.objects.get(matter=relaunch, title="Pages built")
    asked = post(client, "milestone_change", build.public_id, {"action": "delete"})
    assert asked.status_code == 200
    assert "Delete the milestone “Pages built”?" in asked.content.decode()
    assert Milestone.objects.filter(pk=build.pk).exists()
    done = post(client, "milestone_change", build.public_id, {"action": "delete", "confirm": "on"})
    assert done.status_code == 302
    assert not Milestone.objects.filter(pk=build.pk).exists()
    assert Task.objects.get(title="Build the home page").milestone is None


def test_a_task_is_edited_and_deleted_from_its_page(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    home = Task.objects.get(title="Build the home page")
    launch = Milestone.objects.get(matter=relaunch, title="Launch")
    page = client.get(reverse("frontend:task_change", args=[home.public_id]))
    assert page.status_code == 200
    response = post(
        client,
        "task_change",
        home.public_id,
        {
            "action": "edit",
            "title": "Build the landing page",
            "milestone": launch.public_id,
            "assignee": people["staff_on_team"].public_id,
            "due": "",
            "kind": "todo",
        },
    )
    assert response.status_code == 302
    home.refresh_from_db()
    assert (home.title, home.milestone, home.assignee, home.due) == (
        "Build the landing page",
        launch,
        people["staff_on_team"],
        None,
    )
    asked = post(client, "task_change", home.public_id, {"action": "delete"})
    assert asked.status_code == 200 and Task.objects.filter(pk=home.pk).exists()
    post(client, "task_change", home.public_id, {"action": "delete", "confirm": "on"})
    assert not Task.objects.filter(pk=home.pk).exists()


def test_ticking_from_the_page(client, people, relaunch):
    go_live = Task.objects.get(title="Sign the go-live")
    client.force_login(people["client_member"])
    response = post(client, "task_change", go_live.public_id, {"action": "done", "done": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#task-{go_live.public_id}")
    go_live.refresh_from_db()
    assert go_live.done and go_live.done_by == people["client_member"]
    assert "“Sign the go-live” is done." in client.get(response["Location"]).content.decode()
    post(client, "task_change", go_live.public_id, {"action": "done", "done": "0"})
    go_live.refresh_from_db()
    assert not go_live.done


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("firm_admin", 302),
        ("staff_on_team", 302),
        ("client_admin", 403),  # sees it, may not tick another person's task
        ("client_member", 403),
        ("staff_off_team", 404),
        ("other_client", 404),
    ],
)
def test_who_may_tick_a_task_of_the_firm(client, people, relaunch, who, status):
    home = Task.objects.get(title="Build the home page")
    client.force_login(people[who])
    response = post(client, "task_change", home.public_id, {"action": "done", "done": "1"})
    assert response.status_code == status
    home.refresh_from_db()
    assert home.done is (status == 302)


@pytest.mark.parametrize(
    ("who", "status"),
    [("client_admin", 403), ("client_member", 403), ("staff_off_team", 404), ("other_client", 404)],
)
def test_only_the_team_edits_the_plan(client, people, relaunch, who, status):
    client.force_login(people[who])
    launch = Milestone.objects.get(matter=relaunch, title="Launch")
    home = Task.objects.get(title="Build the home page")
    attempts = [
        ("matter_plan", relaunch.public_id, {"title": "Renamed"}),
        ("milestone_create", relaunch.public_id, {"title": "Extra", "due": "2027-01-01"}),
        ("task_create", relaunch.public_id, {"title": "Extra", "kind": "todo"}),
        ("milestone_change", launch.public_id, {"action": "edit", "title": "X", "due": ""}),
        ("milestone_change", launch.public_id, {"action": "up"}),
        ("milestone_change", launch.public_id, {"action": "delete", "confirm": "on"}),
        ("task_change", home.public_id, {"action": "edit", "title": "X", "kind": "todo"}),
        ("task_change", home.public_id, {"action": "delete", "confirm": "on"}),
    ]
    for name, public_id, data in attempts:
        assert post(client, name, public_id, data).status_code == status, name
    for name, public_id in (
        ("milestone_change", launch.public_id),
        ("task_change", home.public_id),
    ):
        assert client.get(reverse(f"frontend:{name}", args=[public_id])).status_code == status
    assert Milestone.objects.filter(matter=relaunch).count() == 3
    assert Task.objects.filter(matter=relaunch).count() == 5
    launch.refresh_from_db()
    home.refresh_from_db()
    assert (launch.title, launch.position, home.title) == ("Launch", 2, "Build the home page")


def test_a_privileged_matters_plan_is_its_grantees_only(client, people, acme):
    secret = factories.matter(acme, privileged=True, grants=(people["staff_on_team"],))
    step = milestone(secret, "Disclosure", dt.date(2027, 1, 1), 0)
    job = task(secret, "Draft", 0, milestone=step, for_client=True)
    client.force_login(people["client_admin"])
    assert (
        post(client, "task_change", job.public_id, {"action": "done", "done": "1"}).status_code
        == 404
    )
    assert (
        client.get(reverse("frontend:milestone_change", args=[step.public_id])).status_code == 404
    )
    client.force_login(people["staff_on_team"])
    assert (
        client.get(reverse("frontend:milestone_change", args=[step.public_id])).status_code == 200
    )


def test_the_team_sets_the_plans_dates_and_owner(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    data = {
        "title": "Website relaunch",
        "description": "Design, build, launch.",
        "start": "2026-11-02",
        "target": "2027-02-26",
        "owner": people["staff_on_team"].public_id,
    }
    response = post(client, "matter_plan", relaunch.public_id, data)
    assert response.status_code == 302
    relaunch.refresh_from_db()
    assert (relaunch.start_date, relaunch.target_date, relaunch.owner) == (
        dt.date(2026, 11, 2),
        dt.date(2027, 2, 26),
        people["staff_on_team"],
    )
    html = page_of(client, relaunch).content.decode()
    assert "<dd>Sam Staff</dd>" in html
    assert 'value="2027-02-26"' in html


def test_a_target_before_the_start_is_refused_at_the_target(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    data = {"title": "Website relaunch", "start": "2027-03-01", "target": "2027-02-01"}
    response = post(client, "matter_plan", relaunch.public_id, data)
    assert response.status_code == 400
    assert response.context["plan_form"].errors["target"]
    assert response.context["open_form"] == "plan_form"
    relaunch.refresh_from_db()
    assert relaunch.start_date == dt.date(2026, 11, 1)


def test_only_staff_on_the_team_may_own_the_plan(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    for outsider in ("client_admin", "staff_off_team"):
        data = {"title": "Website relaunch", "owner": people[outsider].public_id}
        response = post(client, "matter_plan", relaunch.public_id, data)
        assert response.status_code == 400
        assert response.context["plan_form"].errors["owner"]
    relaunch.refresh_from_db()
    assert relaunch.owner is None


# --- opening a matter from a template ---------------------------------------------------------


@pytest.fixture
def rollout(people):
    return plan_services.template_create(
        actor=people["firm_admin"],
        name="12-week SaaS rollout",
        milestones=[
            {"title": "Kick-off", "offset_days": 0},
            {"title": "Go-live", "offset_days": 84},
        ],
        tasks=[
            {
                "title": "Sign the order form",
                "kind": "todo",
                "for_client": True,
                "offset_days": 2,
                "milestone": 0,
            },
            {
                "title": "Configure the workspace",
                "kind": "todo",
                "for_client": False,
                "offset_days": 30,
                "milestone": 1,
            },
        ],
    )


def test_the_team_opens_a_matter_from_a_template_and_a_start_date(client, people, acme, rollout):
    client.force_login(people["staff_on_team"])
    form = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert f'<option value="{rollout.public_id}">12-week SaaS rollout</option>' in form
    assert 'type="date" name="start"' in form
    response = client.post(
        reverse("frontend:matter_create", args=[acme.public_id]),
        {
            "title": "Rollout",
            "template": rollout.public_id,
            "start": "2027-01-31",
            "status": "in_progress",
        },
    )
    matter = Matter.objects.get(title="Rollout")
    assert response["Location"] == reverse("frontend:matter", args=[matter.public_id])
    assert matter.status == "in_progress"
    assert matter.start_date == dt.date(2027, 1, 31)
    assert list(matter.milestones.order_by("position").values_list("title", "due")) == [
        ("Kick-off", dt.date(2027, 1, 31)),
        ("Go-live", dt.date(2027, 4, 25)),
    ]
    signing = matter.tasks.get(title="Sign the order form")
    assert (signing.for_client, signing.due) == (True, dt.date(2027, 2, 2))
    html = page_of(client, matter).content.decode()
    assert html.count('class="plan-mark plan-mark--') == 2


def test_a_matter_without_a_template_opens_with_an_empty_plan(client, people, acme):
    client.force_login(people["staff_on_team"])
    client.post(
        reverse("frontend:matter_create", args=[acme.public_id]),
        {"title": "Advice", "status": "planned"},
    )
    matter = Matter.objects.get(title="Advice")
    assert not matter.milestones.exists() and not matter.tasks.exists()
    assert "No milestones yet" in page_of(client, matter).content.decode()


@pytest.mark.parametrize(
    "change",
    [{"template": "tpl_doesnotexist0000000000"}, {"start": "31/01/2027"}, {"title": ""}],
)
def test_a_bad_new_matter_is_refused_and_nothing_is_opened(client, people, acme, rollout, change):
    client.force_login(people["staff_on_team"])
    data = {"title": "Rollout", "template": rollout.public_id, "status": "planned"} | change
    response = client.post(reverse("frontend:matter_create", args=[acme.public_id]), data)
    assert response["Location"] == reverse("frontend:account", args=[acme.public_id])
    assert not Matter.objects.filter(account=acme).exists()
    page = client.get(response["Location"]).content.decode()
    assert "was not opened" in page


def test_clients_get_no_form_to_open_a_matter(client, people, acme, rollout):
    client.force_login(people["client_admin"])
    page = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert reverse("frontend:matter_create", args=[acme.public_id]) not in page
    assert rollout.name not in page


@pytest.mark.parametrize(
    "data", [{"action": "done"}, {"action": "done", "done": "yes"}, {"action": "shred"}, {}]
)
def test_an_unreadable_tick_changes_nothing_and_says_so(client, people, relaunch, data):
    go_live = Task.objects.get(title="Sign the go-live")
    client.force_login(people["client_member"])
    response = post(client, "task_change", go_live.public_id, data)
    assert response.status_code == 302
    assert response["Location"].endswith("#tasks")
    go_live.refresh_from_db()
    assert not go_live.done
    page = client.get(response["Location"]).content.decode()
    assert "toast--error" in page
