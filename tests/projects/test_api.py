"""``/api/v1/`` matters, milestones, tasks and templates over HTTP (docs/api.md, "Projects"):
shapes, the permission matrix of every endpoint (who may tick a task: its assignee, any of
the account's people for a task of "the client", the team for any; other accounts and
privileged matters without a grant 404; anonymous and deactivated 401), bad input (400 with
``error.fields`` and nothing written), CSRF, and query counts constant in the number of
matters, milestones and tasks."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.errors import NotFound
from accounts.models import Matter, MatterStatus
from accounts.services import client_accounts, users
from accounts.services.matters import matter_revoke
from accounts.services.profile import profile_update
from approvals import services as approval_services
from projects import services
from projects.models import (
    Change,
    Milestone,
    Task,
)
from projects.selectors.matters import matter_detail, matters_of_account
from tests import factories
from tests.projects.conftest import general_of, plan_frames
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

API = "/api/v1"
STAFF = ("firm_admin", "staff_on_team")
CLIENTS = ("client_admin", "client_member")
OUTSIDERS = ("staff_off_team", "other_client")


def send(client, method: str, path: str, data: dict | None = None, **extra):
    return client.generic(
        method, path, json.dumps(data or {}), content_type="application/json", **extra
    )


def code(response) -> str:
    return response.json()["error"]["code"]


def fields(response) -> dict:
    return response.json()["error"].get("fields", {})


def day(offset: int = 0) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def written() -> tuple[int, ...]:
    """How many plan rows there are: a refused request leaves every one as it was."""
    return (
        Matter.objects.count(),
        Milestone.objects.count(),
        Task.objects.count(),
        Change.objects.count(),
    )


def add_task(matter, actor, **kwargs) -> Task:
    return services.task_add(
        actor=actor, matter=matter, title=kwargs.pop("title", "A task"), **kwargs
    )


@pytest.fixture
def relaunch(acme, people):
    """Acme's "Website relaunch": one milestone, a task for each kind of assignee."""
    staff = people["staff_on_team"]
    matter = factories.matter(acme, title="Website relaunch")
    design = services.milestone_add(actor=staff, matter=matter, title="Design", due=day(10))
    tasks = {
        "member": add_task(
            matter,
            staff,
            title="Send the logo files",
            milestone=design.public_id,
            assignee=people["client_member"].public_id,
            due=day(5),
        ),
        "client": add_task(matter, staff, title="Fill in the brief", assignee="client"),
        "staff": add_task(
            matter, staff, title="Draft the sitemap", assignee=staff.public_id, due=day(-1)
        ),
        "nobody": add_task(matter, staff, title="Book the kick-off", milestone=design.public_id),
    }
    return {"matter": matter, "milestone": design, "tasks": tasks}


@pytest.fixture
def other_plan(globex, people):
    matter = factories.matter(globex, title="Globex intranet")
    staff = factories.staff(accounts=(globex,))
    milestone = services.milestone_add(actor=staff, matter=matter, title="Launch", due=day(3))
    return {"matter": matter, "milestone": milestone, "staff": staff}


@pytest.fixture
def template(people):
    return services.template_create(
        actor=people["firm_admin"],
        name="Client onboarding",
        description="Two weeks.",
        milestones=[{"title": "Kick-off", "offset_days": 7}],
        tasks=[
            {"title": "Sign the contract", "for_client": True, "offset_days": 3, "milestone": 0},
            {"title": "Set up the workspace", "offset_days": 14},
        ],
    )


# --- shapes ----------------------------------------------------------------------------------


def test_list_answers_the_account_matters_with_progress_and_next_milestone(
    client, acme, people, relaunch
):
    services.task_set_done(
        actor=people["staff_on_team"], task=relaunch["tasks"]["member"], done=True
    )
    client.force_login(people["client_member"])
    response = client.get(f"{API}/matters?account={acme.public_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["account"] == acme.public_id
    assert body["next"] is None
    [summary] = body["matters"]
    assert summary["id"] == relaunch["matter"].public_id
    assert summary["id"].startswith("mat_")
    assert summary["title"] == "Website relaunch"
    assert summary["status"] == MatterStatus.PLANNED
    assert summary["progress"] == 25
    assert summary["tasks"] == {"total": 4, "done": 1, "overdue": 1}
    assert summary["overdue"] is True
    assert summary["next_milestone"] == {
        "id": relaunch["milestone"].public_id,
        "title": "Design",
        "due": day(10),
        "overdue": False,
    }


def test_detail_answers_milestones_and_tasks(client, people, relaunch):
    client.force_login(people["client_admin"])
    response = client.get(f"{API}/matters/{relaunch['matter'].public_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["progress"] == 0
    [milestone] = body["milestones"]
    assert milestone["id"] == relaunch["milestone"].public_id
    assert milestone["id"].startswith("mil_")
    assert milestone["title"] == "Design"
    assert milestone["due"] == day(10)
    assert milestone["status"] == "upcoming"
    assert milestone["progress"] == 0
    assert milestone["tasks"] == {"total": 2, "done": 0, "overdue": 0}
    tasks = {task["title"]: task for task in body["tasks"]}
    assert [task["title"] for task in body["tasks"]] == [
        "Send the logo files",
        "Fill in the brief",
        "Draft the sitemap",
        "Book the kick-off",
    ]
    logo = tasks["Send the logo files"]
    assert logo["id"].startswith("tsk_")
    assert logo["milestone"] == relaunch["milestone"].public_id
    assert logo["assignee"]["id"] == people["client_member"].public_id
    assert logo["due"] == day(5)
    assert logo["done"] is False
    assert logo["kind"] == "todo"
    assert tasks["Fill in the brief"]["assignee"] == "client"
    assert tasks["Fill in the brief"]["milestone"] is None
    assert tasks["Draft the sitemap"]["overdue"] is True
    assert tasks["Book the kick-off"]["assignee"] is None


def test_ticking_moves_the_milestone_and_the_matter(client, people, relaunch):
    client.force_login(people["client_member"])
    task = relaunch["tasks"]["member"]
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    assert response.status_code == 200, response.content
    assert response.json()["done"] is True
    assert response.json()["done_by"]["id"] == people["client_member"].public_id
    detail = client.get(f"{API}/matters/{relaunch['matter'].public_id}").json()
    assert detail["progress"] == 25
    assert detail["milestones"][0]["status"] == "in_progress"
    assert detail["milestones"][0]["progress"] == 50
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": False})
    assert response.status_code == 200
    assert response.json()["done"] is False
    assert Task.objects.get(pk=task.pk).done_at is None


def test_create_a_matter_from_a_template(client, acme, people, template):
    client.force_login(people["staff_on_team"])
    body = {
        "account": acme.public_id,
        "title": "Onboarding Acme",
        "template": template.public_id,
        "start": "2027-01-31",
    }
    response = send(client, "POST", f"{API}/matters", body)
    assert response.status_code == 201, response.content
    detail = response.json()
    assert detail["id"].startswith("mat_")
    assert detail["title"] == "Onboarding Acme"
    assert detail["start"] == "2027-01-31"
    assert [(m["title"], m["due"]) for m in detail["milestones"]] == [("Kick-off", "2027-02-07")]
    assert sorted((t["title"], t["due"], t["assignee"] == "client") for t in detail["tasks"]) == [
        ("Set up the workspace", "2027-02-14", False),
        ("Sign the contract", "2027-02-03", True),
    ]
    assert detail["target"] == "2027-02-14"
    workspace = next(t for t in detail["tasks"] if t["title"] == "Set up the workspace")
    assert workspace["assignee"]["id"] == people["staff_on_team"].public_id
    matter = Matter.objects.get(public_id=detail["id"])
    assert matter.account == acme


def test_a_template_starts_today_and_gives_the_firm_tasks_to_the_owner(
    client, acme, people, template
):
    client.force_login(people["firm_admin"])
    owner = people["staff_on_team"]
    body = {
        "account": acme.public_id,
        "title": "Onboarding Acme",
        "template": template.public_id,
        "owner": owner.public_id,
    }
    response = send(client, "POST", f"{API}/matters", body)
    assert response.status_code == 201, response.content
    detail = response.json()
    assert (detail["start"], detail["owner"]["id"]) == (day(), owner.public_id)
    assert detail["milestones"][0]["due"] == day(7)
    workspace = next(t for t in detail["tasks"] if t["title"] == "Set up the workspace")
    assert (workspace["assignee"]["id"], workspace["due"]) == (owner.public_id, day(14))


def test_create_a_bare_matter(client, acme, people):
    client.force_login(people["firm_admin"])
    response = send(
        client,
        "POST",
        f"{API}/matters",
        {"account": acme.public_id, "title": "Audit", "description": "Yearly."},
    )
    assert response.status_code == 201, response.content
    assert response.json()["milestones"] == []
    assert response.json()["tasks"] == []
    assert response.json()["description"] == "Yearly."
    assert response.json()["progress"] == 0


def test_a_privileged_matter_opens_for_its_creator_alone(client, acme, people):
    client.force_login(people["staff_on_team"])
    body = {"account": acme.public_id, "title": "Dispute", "privileged": True}
    response = send(client, "POST", f"{API}/matters", body)
    assert response.status_code == 201, response.content
    assert response.json()["privileged"] is True
    for role, status in (("staff_on_team", 200), ("firm_admin", 404), ("client_admin", 404)):
        client.force_login(people[role])
        assert client.get(f"{API}/matters/{response.json()['id']}").status_code == status


def test_change_a_matter_plan_and_status(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    response = send(
        client,
        "PATCH",
        f"{API}/matters/{relaunch['matter'].public_id}",
        {"start": "2027-03-01", "target": "2027-06-30", "status": MatterStatus.IN_PROGRESS},
    )
    assert response.status_code == 200, response.content
    assert response.json()["start"] == "2027-03-01"
    assert response.json()["target"] == "2027-06-30"
    assert response.json()["status"] == MatterStatus.IN_PROGRESS
    matter = Matter.objects.get(pk=relaunch["matter"].pk)
    assert (str(matter.start_date), str(matter.target_date), matter.status) == (
        "2027-03-01",
        "2027-06-30",
        MatterStatus.IN_PROGRESS,
    )


def test_add_and_change_a_milestone(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    matter = relaunch["matter"]
    response = send(
        client,
        "POST",
        f"{API}/matters/{matter.public_id}/milestones",
        {"title": "Launch", "due": day(30)},
    )
    assert response.status_code == 201, response.content
    added = response.json()
    assert added["id"].startswith("mil_")
    assert (added["title"], added["due"], added["status"], added["progress"]) == (
        "Launch",
        day(30),
        "upcoming",
        0,
    )
    response = send(
        client, "PATCH", f"{API}/milestones/{added['id']}", {"title": "Go live", "due": day(31)}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["due"]) == ("Go live", day(31))
    milestone = Milestone.objects.get(public_id=added["id"])
    assert (milestone.title, milestone.due.isoformat()) == ("Go live", day(31))


def test_delete_a_milestone_keeps_its_tasks(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    response = send(client, "DELETE", f"{API}/milestones/{relaunch['milestone'].public_id}")
    assert response.status_code == 204
    assert not Milestone.objects.filter(pk=relaunch["milestone"].pk).exists()
    task = Task.objects.get(pk=relaunch["tasks"]["member"].pk)
    assert task.milestone_id is None


def test_add_change_and_delete_a_task(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    matter = relaunch["matter"]
    response = send(
        client,
        "POST",
        f"{API}/matters/{matter.public_id}/tasks",
        {
            "title": "Approve the copy",
            "milestone": relaunch["milestone"].public_id,
            "assignee": people["client_admin"].public_id,
            "due": day(7),
        },
    )
    assert response.status_code == 201, response.content
    added = response.json()
    assert added["id"].startswith("tsk_")
    assert added["matter"] == matter.public_id
    assert added["milestone"] == relaunch["milestone"].public_id
    assert added["assignee"]["id"] == people["client_admin"].public_id
    assert (added["due"], added["done"], added["kind"]) == (day(7), False, "todo")
    response = send(
        client,
        "PATCH",
        f"{API}/tasks/{added['id']}",
        {"title": "Approve the final copy", "milestone": None, "assignee": "client"},
    )
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["title"], changed["milestone"], changed["assignee"]) == (
        "Approve the final copy",
        None,
        "client",
    )
    assert send(client, "DELETE", f"{API}/tasks/{added['id']}").status_code == 204
    assert not Task.objects.filter(public_id=added["id"]).exists()


def test_upload_and_approval_tasks_name_what_completes_them(client, acme, globex, people, relaunch):
    staff = people["staff_on_team"]
    brand = vault_services.folder_create(actor=staff, account=acme, name="Brand assets")
    elsewhere = vault_services.folder_create(actor=people["other_client"], account=globex, name="X")
    document = vault_services.document_create(
        actor=staff, account=acme, upload=sealed_upload(b"Homepage v1\n"), title="Homepage"
    ).document
    approval = approval_services.approval_create(
        actor=staff,
        account=acme,
        title="Homepage",
        versions=[document.latest_version.public_id],
        approvers=[people["client_admin"].public_id],
        policy_value="all",
    )
    client.force_login(staff)
    path = f"{API}/matters/{relaunch['matter'].public_id}/tasks"
    response = send(
        client,
        "POST",
        path,
        {"title": "Send the logos", "kind": "upload", "folder": brand.public_id},
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "upload"
    assert response.json()["folder"] == {"id": brand.public_id, "name": "Brand assets"}
    response = send(
        client,
        "POST",
        path,
        {"title": "Approve the homepage", "kind": "approval", "approval": approval.public_id},
    )
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["approval"]) == (
        "approval",
        approval.public_id,
    )
    before = written()
    response = send(
        client,
        "POST",
        path,
        {"title": "Send the logos", "kind": "upload", "folder": elsewhere.public_id},
    )
    assert (response.status_code, fields(response)) == (400, {"folder": "not_found"})
    assert written() == before


def test_overdue_is_judged_in_the_viewer_time_zone(client, acme, people):
    """The viewer's today: a task due today in American Samoa (UTC-11) is already
    late for someone in Kiribati (UTC+14), whose date is always ahead."""
    behind = timezone.localdate(timezone=ZoneInfo("Pacific/Pago_Pago"))
    matter = factories.matter(acme, title="Across the date line")
    add_task(matter, people["staff_on_team"], title="Call back", due=behind.isoformat())
    person = people["client_member"]
    client.force_login(person)
    for zone, overdue in (("Pacific/Pago_Pago", False), ("Pacific/Kiritimati", True)):
        profile_update(user=person, time_zone=zone)
        detail = client.get(f"{API}/matters/{matter.public_id}").json()
        assert (detail["tasks"][0]["overdue"], detail["overdue"]) == (overdue, overdue), zone
        listed = client.get(f"{API}/matters?account={acme.public_id}").json()["matters"]
        assert listed[0]["tasks"]["overdue"] == int(overdue), zone


def test_templates_list_their_milestones_and_tasks(client, people, template):
    client.force_login(people["staff_off_team"])
    response = client.get(f"{API}/templates")
    assert response.status_code == 200, response.content
    [listed] = response.json()["templates"]
    assert listed["id"] == template.public_id
    assert listed["name"] == "Client onboarding"
    assert listed["days"] == 14
    assert listed["milestones"] == [{"title": "Kick-off", "offset_days": 7}]
    assert [(t["title"], t["milestone"], t["for_client"]) for t in listed["tasks"]] == [
        ("Sign the contract", 0, True),
        ("Set up the workspace", None, False),
    ]


def test_list_pages_by_title(client, acme, people):
    for title in ("Alpha", "Bravo", "Charlie"):
        factories.matter(acme, title=title)
    client.force_login(people["client_member"])
    first = client.get(f"{API}/matters?account={acme.public_id}&limit=2").json()
    assert [m["title"] for m in first["matters"]] == ["Alpha", "Bravo"]
    assert first["next"]
    second = client.get(
        f"{API}/matters?account={acme.public_id}&limit=2&cursor={first['next']}"
    ).json()
    assert [m["title"] for m in second["matters"]] == ["Charlie"]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "status", "error", "field"),
    [
        ("", 400, "invalid", "account"),
        ("?account=acc_aaaaaaaaaaaaaaaaaaaaaaaa", 404, "not_found", None),
        ("?account=nonsense", 404, "not_found", None),
        ("?account={acc}&limit=0", 400, "bad_limit", "limit"),
        ("?account={acc}&limit=many", 400, "bad_limit", "limit"),
        ("?account={acc}&cursor=mat_aaaaaaaaaaaaaaaaaaaaaaaa", 400, "bad_cursor", "cursor"),
    ],
)
def test_list_refusals(client, acme, people, query, status, error, field):
    client.force_login(people["staff_on_team"])
    response = client.get(f"{API}/matters{query.format(acc=acme.public_id)}")
    assert (response.status_code, code(response)) == (status, error)
    if field:
        assert field in fields(response)


# --- the permission matrix -------------------------------------------------------------------

# role -> what they get reading Acme's matters, and changing the plan.
READ = {
    "firm_admin": 200,
    "staff_on_team": 200,
    "client_admin": 200,
    "client_member": 200,
    "staff_off_team": 404,
    "other_client": 404,
}
CHANGE = {
    "firm_admin": 200,
    "staff_on_team": 200,
    "client_admin": 403,
    "client_member": 403,
    "staff_off_team": 404,
    "other_client": 404,
}


@pytest.mark.parametrize("role", factories.ROLES)
def test_reading_matters(client, acme, people, relaunch, role):
    client.force_login(people[role])
    listed = client.get(f"{API}/matters?account={acme.public_id}")
    detail = client.get(f"{API}/matters/{relaunch['matter'].public_id}")
    assert (listed.status_code, detail.status_code) == (READ[role], READ[role])
    if READ[role] == 200:
        assert [m["id"] for m in listed.json()["matters"]] == [relaunch["matter"].public_id]
    else:
        assert (code(listed), code(detail)) == ("not_found", "not_found")


@pytest.mark.parametrize("role", factories.ROLES)
def test_creating_matters(client, acme, people, role):
    client.force_login(people[role])
    before = written()
    response = send(client, "POST", f"{API}/matters", {"account": acme.public_id, "title": "New"})
    expected = {200: 201, 403: 403, 404: 404}[CHANGE[role]]
    assert response.status_code == expected, response.content
    if expected != 201:
        assert written() == before


@pytest.mark.parametrize("role", factories.ROLES)
def test_changing_the_plan(client, people, relaunch, role):
    """Every write to the plan but ticking is the team's: clients 403, outsiders 404, and
    nothing changes for either."""
    client.force_login(people[role])
    matter, milestone, task = relaunch["matter"], relaunch["milestone"], relaunch["tasks"]["member"]
    expected = CHANGE[role]
    before = written()
    answers = {
        "matter": send(client, "PATCH", f"{API}/matters/{matter.public_id}", {"title": "Renamed"}),
        "add milestone": send(
            client,
            "POST",
            f"{API}/matters/{matter.public_id}/milestones",
            {"title": "Launch", "due": day(20)},
        ),
        "milestone": send(
            client, "PATCH", f"{API}/milestones/{milestone.public_id}", {"title": "Designs"}
        ),
        "add task": send(
            client, "POST", f"{API}/matters/{matter.public_id}/tasks", {"title": "Another"}
        ),
        "task": send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"title": "Logos"}),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    if expected == 200:
        assert statuses == {
            "matter": 200,
            "add milestone": 201,
            "milestone": 200,
            "add task": 201,
            "task": 200,
        }
        assert Task.objects.get(pk=task.pk).title == "Logos"
        return
    assert statuses == dict.fromkeys(answers, expected)
    assert {code(response) for response in answers.values()} <= {"not_found", "forbidden"}
    assert written() == before
    assert Matter.objects.get(pk=matter.pk).title == "Website relaunch"
    assert Milestone.objects.get(pk=milestone.pk).title == "Design"
    assert Task.objects.get(pk=task.pk).title == "Send the logo files"


@pytest.mark.parametrize("role", factories.ROLES)
def test_deleting(client, people, relaunch, role):
    client.force_login(people[role])
    milestone, task = relaunch["milestone"], relaunch["tasks"]["staff"]
    expected = {200: 204, 403: 403, 404: 404}[CHANGE[role]]
    assert send(client, "DELETE", f"{API}/tasks/{task.public_id}").status_code == expected
    assert send(client, "DELETE", f"{API}/milestones/{milestone.public_id}").status_code == expected
    gone = expected == 204
    assert Task.objects.filter(pk=task.pk).exists() is not gone
    assert Milestone.objects.filter(pk=milestone.pk).exists() is not gone


# role -> ticking the task of (client_member, "the client", staff_on_team).
TICK = {
    "firm_admin": (200, 200, 200),
    "staff_on_team": (200, 200, 200),
    "client_admin": (403, 200, 403),
    "client_member": (200, 200, 403),
    "staff_off_team": (404, 404, 404),
    "other_client": (404, 404, 404),
}


@pytest.mark.parametrize("role", factories.ROLES)
@pytest.mark.parametrize("index", [0, 1, 2], ids=["member's", "client's", "staff's"])
def test_who_may_tick_a_task(client, people, relaunch, role, index):
    task = relaunch["tasks"][("member", "client", "staff")[index]]
    client.force_login(people[role])
    before = Change.objects.count()
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    expected = TICK[role][index]
    assert response.status_code == expected, response.content
    assert Task.objects.get(pk=task.pk).done is (expected == 200)
    if expected != 200:
        assert code(response) == ("forbidden" if expected == 403 else "not_found")
        assert Change.objects.count() == before


@pytest.mark.parametrize("role", factories.ROLES)
def test_templates_are_for_the_firm(client, people, template, role):
    client.force_login(people[role])
    response = client.get(f"{API}/templates")
    if role in ("firm_admin", "staff_on_team", "staff_off_team"):
        assert response.status_code == 200
    else:
        assert (response.status_code, code(response)) == (403, "staff_only")


@pytest.mark.parametrize(
    ("role", "granted", "expected"),
    [
        ("staff_on_team", True, 200),
        ("staff_on_team", False, 404),
        ("firm_admin", False, 404),
        ("client_member", True, 200),
        ("client_member", False, 404),
        ("client_admin", False, 404),
    ],
)
def test_a_privileged_matter_is_its_grantees_only(client, acme, people, role, granted, expected):
    author = factories.staff(accounts=(acme,))
    grants = (author, people[role]) if granted else (author,)
    matter = factories.matter(acme, title="Dispute", privileged=True, grants=grants)
    task = add_task(matter, author, title="Witness list", assignee="client")
    client.force_login(people[role])
    listed = client.get(f"{API}/matters?account={acme.public_id}").json()["matters"]
    assert (matter.public_id in [m["id"] for m in listed]) is (expected == 200)
    assert client.get(f"{API}/matters/{matter.public_id}").status_code == expected
    tick = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    assert tick.status_code == expected
    assert Task.objects.get(pk=task.pk).done is (expected == 200)
    if expected == 404:
        before = written()
        assert (
            send(
                client, "POST", f"{API}/matters/{matter.public_id}/tasks", {"title": "Leak"}
            ).status_code
            == 404
        )
        assert written() == before


def test_anonymous_gets_401_everywhere(client, acme, relaunch):
    matter, milestone, task = relaunch["matter"], relaunch["milestone"], relaunch["tasks"]["client"]
    before = written()
    for response in (
        client.get(f"{API}/matters?account={acme.public_id}"),
        client.get(f"{API}/matters/{matter.public_id}"),
        client.get(f"{API}/templates"),
        send(client, "POST", f"{API}/matters", {"account": acme.public_id, "title": "New"}),
        send(client, "PATCH", f"{API}/matters/{matter.public_id}", {"title": "New"}),
        send(client, "POST", f"{API}/matters/{matter.public_id}/milestones", {"title": "M"}),
        send(client, "PATCH", f"{API}/milestones/{milestone.public_id}", {"title": "M"}),
        send(client, "DELETE", f"{API}/milestones/{milestone.public_id}"),
        send(client, "POST", f"{API}/matters/{matter.public_id}/tasks", {"title": "T"}),
        send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True}),
        send(client, "DELETE", f"{API}/tasks/{task.public_id}"),
    ):
        assert (response.status_code, code(response)) == (401, "not_authenticated")
    assert written() == before
    assert Task.objects.get(pk=task.pk).done is False


def test_a_deactivated_assignee_is_signed_out(client, people, relaunch):
    task = relaunch["tasks"]["member"]
    client.force_login(people["client_member"])
    users.user_deactivate(user=people["client_member"])
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    assert response.status_code == 401
    assert Task.objects.get(pk=task.pk).done is False


def test_unsafe_methods_need_the_csrf_token(people, relaunch):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["staff_on_team"])
    task = relaunch["tasks"]["staff"]
    response = send(browser, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    assert (response.status_code, code(response)) == (403, "csrf_failed")
    assert Task.objects.get(pk=task.pk).done is False


def test_methods_not_allowed(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    task = relaunch["tasks"]["staff"]
    response = client.get(f"{API}/tasks/{task.public_id}")
    assert (response.status_code, code(response)) == (405, "method_not_allowed")
    assert response["Allow"] == "DELETE, PATCH"
    response = send(client, "DELETE", f"{API}/matters/{relaunch['matter'].public_id}")
    assert response.status_code == 405


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"title": ""}, "title", "required"),
        ({"title": "   "}, "title", "required"),
        ({"title": None}, "title", "required"),
        ({"title": 12}, "title", "invalid"),
        ({"title": "x" * 201}, "title", "too_long"),
        ({"start": "2027-02-30"}, "start", "invalid"),
        ({"start": "soon"}, "start", "invalid"),
        ({"start": 20270201}, "start", "invalid"),
        ({"start": "2027-03-01", "target": "2027-02-01"}, "target", "before_start"),
        ({"template": "tpl_aaaaaaaaaaaaaaaaaaaaaaaa"}, "template", "not_found"),
        ({"template": ["tpl_x"]}, "template", "not_found"),
        ({"owner": "usr_aaaaaaaaaaaaaaaaaaaaaaaa"}, "owner", "not_found"),
        ({"account": 7}, "account", "invalid"),
        ({"account": None}, "account", "required"),
        ({"privileged": "yes"}, "privileged", "invalid"),
        ({"colour": "red"}, "colour", "unknown"),
    ],
)
def test_creating_a_matter_refuses_bad_input(client, acme, people, body, field, field_code):
    client.force_login(people["staff_on_team"])
    before = written()
    response = send(
        client, "POST", f"{API}/matters", {"account": acme.public_id, "title": "New", **body}
    )
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"title": ""}, "title", "required"),
        ({"start": "2027-13-01"}, "start", "invalid"),
        ({"start": "2027-03-01", "target": "2027-02-28"}, "target", "before_start"),
        ({"owner": "usr_aaaaaaaaaaaaaaaaaaaaaaaa"}, "owner", "not_found"),
        ({"status": "someday"}, "status", "invalid"),
        ({"status": 3}, "status", "invalid"),
        ({"title": "Renamed", "status": "someday"}, "status", "invalid"),
        ({"privileged": True}, "privileged", "unknown"),
    ],
)
def test_changing_a_matter_refuses_bad_input(client, people, relaunch, body, field, field_code):
    client.force_login(people["staff_on_team"])
    before = written()
    response = send(client, "PATCH", f"{API}/matters/{relaunch['matter'].public_id}", body)
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before
    matter = Matter.objects.get(pk=relaunch["matter"].pk)
    assert (matter.title, matter.status, matter.start_date) == (
        "Website relaunch",
        MatterStatus.PLANNED,
        None,
    )


def test_an_empty_creation_names_what_is_required(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    matter = relaunch["matter"].public_id
    for path, required in (
        (f"{API}/matters", {"account": "required"}),
        (f"{API}/matters/{matter}/milestones", {"title": "required", "due": "required"}),
        (f"{API}/matters/{matter}/tasks", {"title": "required"}),
    ):
        response = send(client, "POST", path, {})
        assert (response.status_code, fields(response)) == (400, required), path


def test_an_empty_change_is_refused(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    for path in (
        f"{API}/matters/{relaunch['matter'].public_id}",
        f"{API}/milestones/{relaunch['milestone'].public_id}",
        f"{API}/tasks/{relaunch['tasks']['staff'].public_id}",
    ):
        response = send(client, "PATCH", path, {})
        assert (response.status_code, code(response)) == (400, "nothing_to_change")


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"title": "", "due": "2027-01-01"}, "title", "required"),
        ({"title": 5, "due": "2027-01-01"}, "title", "invalid"),
        ({"title": "Launch"}, "due", "required"),
        ({"title": "Launch", "due": "2027-02-29"}, "due", "invalid"),
        ({"title": "Launch", "due": "01/03/2027"}, "due", "invalid"),
        ({"title": "Launch", "due": 1}, "due", "invalid"),
        ({"title": "Launch", "due": "2027-01-01", "position": "first"}, "position", "invalid"),
        ({"title": "Launch", "due": "2027-01-01", "colour": "red"}, "colour", "unknown"),
    ],
)
def test_adding_a_milestone_refuses_bad_input(client, people, relaunch, body, field, field_code):
    client.force_login(people["staff_on_team"])
    before = written()
    response = send(
        client, "POST", f"{API}/matters/{relaunch['matter'].public_id}/milestones", body
    )
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"title": ""}, "title", "required"),
        ({"due": "2027-04-31"}, "due", "invalid"),
        ({"due": None}, "due", "required"),
        ({"position": -1}, "position", "invalid"),
    ],
)
def test_changing_a_milestone_refuses_bad_input(client, people, relaunch, body, field, field_code):
    client.force_login(people["staff_on_team"])
    before = written()
    milestone = relaunch["milestone"]
    response = send(client, "PATCH", f"{API}/milestones/{milestone.public_id}", body)
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before
    milestone.refresh_from_db()
    assert (milestone.title, milestone.due.isoformat()) == ("Design", day(10))


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"title": ""}, "title", "required"),
        ({"title": ["a"]}, "title", "invalid"),
        ({"title": "T", "due": "2027-06-31"}, "due", "invalid"),
        ({"title": "T", "due": True}, "due", "invalid"),
        ({"title": "T", "kind": "chore"}, "kind", "invalid"),
        ({"title": "T", "assignee": "usr_aaaaaaaaaaaaaaaaaaaaaaaa"}, "assignee", "not_found"),
        ({"title": "T", "milestone": "mil_aaaaaaaaaaaaaaaaaaaaaaaa"}, "milestone", "not_found"),
        ({"title": "T", "milestone": 3}, "milestone", "not_found"),
        ({"title": "T", "kind": "upload"}, "folder", "required"),
        ({"title": "T", "kind": "approval"}, "approval", "required"),
    ],
)
def test_adding_a_task_refuses_bad_input(client, people, relaunch, body, field, field_code):
    client.force_login(people["staff_on_team"])
    before = written()
    response = send(client, "POST", f"{API}/matters/{relaunch['matter'].public_id}/tasks", body)
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before


def test_a_milestone_of_another_matter_is_refused(client, people, relaunch, other_plan):
    client.force_login(people["firm_admin"])
    foreign = other_plan["milestone"].public_id
    before = written()
    added = send(
        client,
        "POST",
        f"{API}/matters/{relaunch['matter'].public_id}/tasks",
        {"title": "T", "milestone": foreign},
    )
    assert (added.status_code, fields(added)) == (400, {"milestone": "not_found"})
    task = relaunch["tasks"]["nobody"]
    moved = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"milestone": foreign})
    assert (moved.status_code, fields(moved)) == (400, {"milestone": "not_found"})
    assert written() == before
    assert Task.objects.get(pk=task.pk).milestone_id == relaunch["milestone"].pk


def test_an_assignee_of_another_account_is_refused(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    task = relaunch["tasks"]["nobody"]
    before = written()
    response = send(
        client,
        "PATCH",
        f"{API}/tasks/{task.public_id}",
        {"assignee": people["other_client"].public_id},
    )
    assert response.status_code == 400, response.content
    assert "assignee" in fields(response)
    assert written() == before
    assert Task.objects.get(pk=task.pk).assignee_id is None


@pytest.mark.parametrize(
    ("body", "field", "field_code"),
    [
        ({"done": "yes"}, "done", "invalid"),
        ({"done": 1}, "done", "invalid"),
        ({"done": None}, "done", "invalid"),
        ({"title": ""}, "title", "required"),
        ({"due": "tomorrow"}, "due", "invalid"),
        ({"kind": "chore"}, "kind", "invalid"),
        ({"done": True, "due": "tomorrow"}, "due", "invalid"),
        ({"done_at": "2027-01-01T00:00:00Z"}, "done_at", "unknown"),
    ],
)
def test_changing_a_task_refuses_bad_input(client, people, relaunch, body, field, field_code):
    client.force_login(people["staff_on_team"])
    task = relaunch["tasks"]["staff"]
    before = written()
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", body)
    assert response.status_code == 400, response.content
    assert fields(response).get(field) == field_code, response.content
    assert written() == before
    task.refresh_from_db()
    assert (task.title, task.done, task.kind) == ("Draft the sitemap", False, "todo")


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'"title"'], ids=["garbage", "array", "string"]
)
def test_a_body_that_is_not_a_json_object_is_refused(client, people, relaunch, raw):
    client.force_login(people["staff_on_team"])
    before = written()
    response = client.generic(
        "POST",
        f"{API}/matters/{relaunch['matter'].public_id}/tasks",
        raw,
        content_type="application/json",
    )
    assert (response.status_code, code(response)) == (400, "bad_json")
    assert written() == before


def test_nul_in_a_body_is_refused(client, people, relaunch):
    client.force_login(people["staff_on_team"])
    before = written()
    response = send(
        client, "POST", f"{API}/matters/{relaunch['matter'].public_id}/tasks", {"title": "a\x00b"}
    )
    assert (response.status_code, fields(response)) == (400, {"title": "nul_character"})
    assert written() == before


# --- query counts ----------------------------------------------------------------------------


def grow(account, staff, client_person, *, matters: int, milestones: int, tasks: int) -> list:
    """``matters`` matters, each with ``milestones`` milestones and ``tasks`` tasks spread
    over them (some done, some overdue, some the client's, some without a milestone)."""
    made = []
    for m in range(matters):
        matter = factories.matter(account, title=f"Matter {m:03}")
        services.matter_plan_change(
            actor=staff, matter=matter, fields={"owner": staff.public_id, "start": day(-20)}
        )
        steps = [
            services.milestone_add(actor=staff, matter=matter, title=f"Step {n}", due=day(n - 2))
            for n in range(milestones)
        ]
        for n in range(tasks):
            task = add_task(
                matter,
                staff,
                title=f"Task {n}",
                milestone=steps[n % len(steps)].public_id if steps and n % 3 else None,
                assignee=(
                    "client" if n % 4 == 0 else (client_person.public_id if n % 4 == 1 else None)
                ),
                due=day(n - 3) if n % 2 else None,
            )
            if n % 3 == 0:
                services.task_set_done(actor=staff, task=task, done=True)
        made.append(matter)
    return made


def queries(client, path: str) -> int:
    """The queries answering ``path``, once the session's first request (which records the
    sign-in's activity) is behind."""
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("role", ["staff_on_team", "client_member"])
def test_the_list_costs_the_same_whatever_the_number_of_matters(client, acme, people, role):
    staff, person = people["staff_on_team"], people["client_member"]
    client.force_login(people[role])
    path = f"{API}/matters?account={acme.public_id}"
    grow(acme, staff, person, matters=1, milestones=1, tasks=1)
    few = queries(client, path)
    grow(acme, staff, person, matters=6, milestones=4, tasks=9)
    factories.matter(acme, privileged=True, grants=(people[role],))
    many = queries(client, path)
    assert len(client.get(path).json()["matters"]) == 8
    assert many == few
    assert queries(client, f"{path}&limit=3") == few
    cursor = client.get(f"{path}&limit=3").json()["next"]
    # The cursor's row is one more query, whatever the page.
    assert queries(client, f"{path}&limit=3&cursor={cursor}") == few + 1


@pytest.mark.parametrize("role", ["staff_on_team", "client_member"])
def test_the_detail_costs_the_same_whatever_the_number_of_milestones_and_tasks(
    client, acme, people, role
):
    staff, person = people["staff_on_team"], people["client_member"]
    client.force_login(people[role])
    [small] = grow(acme, staff, person, matters=1, milestones=1, tasks=1)
    [large] = grow(acme, staff, person, matters=1, milestones=6, tasks=25)
    few = queries(client, f"{API}/matters/{small.public_id}")
    many = queries(client, f"{API}/matters/{large.public_id}")
    assert many == few
    detail = client.get(f"{API}/matters/{large.public_id}").json()
    assert (len(detail["milestones"]), len(detail["tasks"])) == (6, 25)


def test_templates_cost_the_same_whatever_their_number(client, people, template):
    client.force_login(people["staff_on_team"])
    few = queries(client, f"{API}/templates")
    for n in range(4):
        services.template_create(
            actor=people["firm_admin"],
            name=f"Plan {n}",
            milestones=[{"title": "Step", "offset_days": n}],
            tasks=[{"title": f"T{p}", "offset_days": p, "milestone": 0} for p in range(3)],
        )
    assert queries(client, f"{API}/templates") == few
    assert len(client.get(f"{API}/templates").json()["templates"]) == 5


def test_unknown_ids_are_not_found(client, people):
    client.force_login(people["firm_admin"])
    for response in (
        client.get(f"{API}/matters/mat_aaaaaaaaaaaaaaaaaaaaaaaa"),
        client.get(f"{API}/matters/nonsense"),
        send(client, "PATCH", f"{API}/matters/mat_aaaaaaaaaaaaaaaaaaaaaaaa", {"title": "A"}),
        send(client, "POST", f"{API}/matters/mat_aaaaaaaaaaaaaaaaaaaaaaaa/tasks", {"title": "A"}),
        send(client, "PATCH", f"{API}/milestones/mil_aaaaaaaaaaaaaaaaaaaaaaaa", {"title": "A"}),
        send(client, "DELETE", f"{API}/milestones/mil_aaaaaaaaaaaaaaaaaaaaaaaa"),
        send(client, "PATCH", f"{API}/tasks/tsk_aaaaaaaaaaaaaaaaaaaaaaaa", {"done": True}),
        send(client, "DELETE", f"{API}/tasks/nonsense"),
    ):
        assert (response.status_code, code(response)) == (404, "not_found")


def test_access_ends_with_the_membership_or_the_grant(client, acme, people, relaunch):
    person = people["client_member"]
    secret = factories.matter(acme, title="Dispute", privileged=True, grants=(person,))
    client.force_login(person)
    assert client.get(f"{API}/matters/{secret.public_id}").status_code == 200
    matter_revoke(actor=None, matter=secret, user=person)
    assert client.get(f"{API}/matters/{secret.public_id}").status_code == 404
    listed = client.get(f"{API}/matters?account={acme.public_id}").json()["matters"]
    assert [m["id"] for m in listed] == [relaunch["matter"].public_id]
    client_accounts.membership_remove(actor=None, account=acme, user=person)
    task = relaunch["tasks"]["member"]
    response = send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True})
    assert response.status_code == 404
    assert Task.objects.get(pk=task.pk).done is False
    assert client.get(f"{API}/matters?account={acme.public_id}").status_code == 404


def test_matters_of_account_is_every_visible_matter_in_three_queries(
    acme, people, relaunch, django_assert_num_queries
):
    """The selector behind the list, unpaged: the account's matters the viewer may see, by
    title, in three queries (matters, task counts, next milestones) whatever their number."""
    staff, person = people["staff_on_team"], people["client_member"]
    grow(acme, staff, person, matters=5, milestones=3, tasks=6)
    factories.matter(acme, title="Hidden", privileged=True, grants=(staff,))
    today = timezone.localdate()
    with django_assert_num_queries(3):
        summaries = matters_of_account(person, acme, today=today)
    assert [s["title"] for s in summaries] == [
        *(f"Matter {m:03}" for m in range(5)),
        "Website relaunch",
    ]
    assert summaries[-1]["progress"] == 0
    assert "Hidden" in [s["title"] for s in matters_of_account(staff, acme, today=today)]


def test_the_detail_selector_answers_only_what_the_viewer_sees(acme, people):
    secret = factories.matter(acme, title="Dispute", privileged=True)
    with pytest.raises(NotFound):
        matter_detail(people["client_admin"], secret, today=timezone.localdate())
    with pytest.raises(NotFound):
        matter_detail(people["other_client"], secret, today=timezone.localdate())


def test_a_tick_over_the_api_is_one_event_in_the_general_thread(client, acme, people, relaunch):
    task = relaunch["tasks"]["client"]
    before = len(plan_frames(general_of(acme), "task.done"))
    client.force_login(people["client_admin"])
    assert send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True}).status_code == 200
    # Ticking what is ticked already changes nothing and tells nobody.
    assert send(client, "PATCH", f"{API}/tasks/{task.public_id}", {"done": True}).status_code == 200
    frames = plan_frames(general_of(acme), "task.done")
    assert len(frames) == before + 1
    assert frames[-1]["task"]["id"] == task.public_id
    assert frames[-1]["by"]["id"] == people["client_admin"].public_id
    assert frames[-1]["matter"]["progress"] == 25
