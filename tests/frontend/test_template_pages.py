"""Checklist templates as pages: only firm admins reach them; a template is written, changed
and deleted through the template services, rows added without script; what is wrong shows on
the row it is about and nothing is written."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from projects import services as project_services
from projects.models import ChecklistTemplate, TemplateMilestone, TemplateTask
from projects.selectors.json import template_json
from tests import factories

TEMPLATES = reverse("frontend:templates")
NEW = reverse("frontend:template_create")
ROLES = (*factories.ROLES, "deactivated", "anonymous")


def edit_url(template) -> str:
    return reverse("frontend:template_edit", args=[template.public_id])


def delete_url(template) -> str:
    return reverse("frontend:template_delete", args=[template.public_id])


def sign_in(client, people, role):
    if role == "deactivated":
        person = factories.firm_admin(name="Dora Deactivated")
        User.objects.filter(pk=person.pk).update(is_active=False)
        client.force_login(person)
    elif role != "anonymous":
        client.force_login(people[role])
    return client


def flashes(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in messages.get_messages(response.wsgi_request)]


@pytest.fixture
def onboarding(people):
    return project_services.template_create(
        actor=people["firm_admin"],
        name="Client onboarding",
        description="The first month with a new client.",
        milestones=[
            {"title": "Kick-off", "offset_days": 0},
            {"title": "Accounts set up", "offset_days": 14},
        ],
        tasks=[
            {
                "title": "Send the logo files",
                "kind": "upload",
                "for_client": True,
                "offset_days": 3,
                "folder": "Brand",
                "milestone": 0,
            },
            {
                "title": "Book the kick-off call",
                "kind": "todo",
                "for_client": False,
                "offset_days": None,
                "folder": "",
                "milestone": None,
            },
        ],
    )


def form_data(
    *,
    name="Website relaunch",
    description="",
    milestones=(),
    tasks=(),
    initial_milestones=0,
    initial_tasks=0,
    blank_milestones=2,
    blank_tasks=2,
    **extra,
) -> dict:
    """What the form posts: rows as dicts of their fields, then blank rows as a browser
    sends them (empty inputs, the kind select on "todo")."""
    data = {"template-name": name, "template-description": description}
    milestone_rows = [*milestones, *([{}] * blank_milestones)]
    task_rows = [*tasks, *([{"kind": "todo"}] * blank_tasks)]
    for prefix, rows, initial in (
        ("milestones", milestone_rows, initial_milestones),
        ("tasks", task_rows, initial_tasks),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(initial)
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "200"
        for index, row in enumerate(rows):
            for key, value in {"title": "", "offset_days": "", **row}.items():
                if value is True:
                    data[f"{prefix}-{index}-{key}"] = "on"
                elif value is not False:
                    data[f"{prefix}-{index}-{key}"] = str(value)
    data.update(extra)
    return data


def snapshot() -> tuple:
    return (
        list(ChecklistTemplate.objects.order_by("pk").values()),
        list(TemplateMilestone.objects.order_by("pk").values()),
        list(TemplateTask.objects.order_by("pk").values()),
    )


# --- who reaches what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_firm_admins_reach_the_template_pages(client, people, onboarding, role):
    sign_in(client, people, role)
    signed_out = role in ("anonymous", "deactivated")
    for path in (TEMPLATES, NEW, edit_url(onboarding)):
        response = client.get(path)
        assert response.status_code == (
            302 if signed_out else 200 if role == "firm_admin" else 404
        ), path
    before = snapshot()
    response = client.post(delete_url(onboarding), {"confirm": "on"})
    assert response.status_code == (302 if role == "firm_admin" or signed_out else 404)
    if role != "firm_admin":
        assert snapshot() == before


def test_an_unknown_template_is_not_found(client, people):
    sign_in(client, people, "firm_admin")
    assert client.get(reverse("frontend:template_edit", args=["tpl_nosuch"])).status_code == 404
    assert client.post(reverse("frontend:template_delete", args=["tpl_nosuch"])).status_code == 404


def test_firm_admins_find_the_templates_from_the_board(client, people):
    body = sign_in(client, people, "firm_admin").get(reverse("frontend:board")).content.decode()
    assert f'href="{TEMPLATES}"' in body
    client.logout()
    body = sign_in(client, people, "staff_on_team").get(reverse("frontend:board")).content.decode()
    assert f'href="{TEMPLATES}"' not in body


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_each_template_with_its_size(client, people, onboarding):
    body = sign_in(client, people, "firm_admin").get(TEMPLATES).content.decode()
    assert "Client onboarding" in body and "The first month with a new client." in body
    assert '<td data-label="Milestones">2</td>' in body
    assert '<td data-label="Tasks">2</td>' in body
    assert "14 days" in body
    assert f'action="{delete_url(onboarding)}"' in body


def test_an_empty_list_offers_the_first_template(client, people):
    body = sign_in(client, people, "firm_admin").get(TEMPLATES).content.decode()
    assert "No checklist templates yet" in body and f'href="{NEW}"' in body


def test_the_list_takes_the_same_queries_for_more_templates(client, people, onboarding):
    sign_in(client, people, "firm_admin")
    client.get(TEMPLATES)
    with CaptureQueriesContext(connection) as one:
        client.get(TEMPLATES)
    for n in range(6):
        project_services.template_create(
            actor=people["firm_admin"],
            name=f"Plan {n}",
            milestones=[{"title": "Start", "offset_days": n}],
            tasks=[
                {
                    "title": "Do it",
                    "kind": "todo",
                    "for_client": False,
                    "offset_days": n,
                    "folder": "",
                    "milestone": 0,
                }
            ],
        )
    with CaptureQueriesContext(connection) as seven:
        body = client.get(TEMPLATES).content.decode()
    assert "Plan 5" in body
    assert len(seven) == len(one)


def test_a_bad_cursor_starts_the_list_again(client, people, onboarding):
    response = sign_in(client, people, "firm_admin").get(TEMPLATES, {"cursor": "tpl_gone"})
    assert response.status_code == 200 and "Client onboarding" in response.content.decode()
    assert [level for level, _ in flashes(response)] == [messages.ERROR]


# --- writing one ------------------------------------------------------------------------------


def test_a_new_template_with_milestones_and_tasks(client, people):
    sign_in(client, people, "firm_admin")
    body = client.get(NEW).content.decode()
    assert body.count("<legend>Milestone ") == 3 and body.count("<legend>Task ") == 5
    response = client.post(
        NEW,
        form_data(
            name="  Website relaunch ",
            description="Twelve weeks.",
            milestones=[
                {"title": "Design", "offset_days": 21},
                {"title": "Launch", "offset_days": 84},
            ],
            tasks=[
                {
                    "title": "Approve the mock-ups",
                    "kind": "approval",
                    "offset_days": 20,
                    "milestone": "0",
                },
                {
                    "title": "Send the copy",
                    "kind": "upload",
                    "for_client": True,
                    "folder": "Copy",
                    "offset_days": 30,
                    "milestone": "1",
                },
                {"title": "Go live", "kind": "todo"},
            ],
        ),
    )
    assert response.status_code == 302 and response["Location"] == TEMPLATES
    assert flashes(response) == [(messages.SUCCESS, "“Website relaunch” is saved.")]
    saved = template_json(ChecklistTemplate.objects.get(name="Website relaunch"))
    assert saved["description"] == "Twelve weeks."
    assert saved["milestones"] == [
        {"title": "Design", "offset_days": 21},
        {"title": "Launch", "offset_days": 84},
    ]
    assert saved["tasks"] == [
        {
            "title": "Approve the mock-ups",
            "kind": "approval",
            "for_client": False,
            "offset_days": 20,
            "folder": "",
            "milestone": 0,
        },
        {
            "title": "Send the copy",
            "kind": "upload",
            "for_client": True,
            "offset_days": 30,
            "folder": "Copy",
            "milestone": 1,
        },
        {
            "title": "Go live",
            "kind": "todo",
            "for_client": False,
            "offset_days": None,
            "folder": "",
            "milestone": None,
        },
    ]


def test_more_rows_saves_nothing_and_keeps_what_was_typed(client, people):
    sign_in(client, people, "firm_admin")
    data = form_data(
        milestones=[{"title": "Design", "offset_days": 21}],
        blank_milestones=0,
        more="milestones",
    )
    response = client.post(NEW, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<legend>Milestone ") == 4
    assert 'value="Design"' in body
    # A task may already point at the new rows.
    assert '<option value="3">Milestone 4</option>' in body
    assert not ChecklistTemplate.objects.exists()


def test_changing_a_template_replaces_its_rows(client, people, onboarding):
    sign_in(client, people, "firm_admin")
    body = client.get(edit_url(onboarding)).content.decode()
    assert 'value="Kick-off"' in body and 'value="Send the logo files"' in body
    assert '<option value="0" selected>Milestone 1: Kick-off</option>' in body
    response = client.post(
        edit_url(onboarding),
        form_data(
            name="Client onboarding",
            description="",
            milestones=[
                {"title": "Kick-off", "offset_days": 0, "DELETE": True},
                {"title": "Accounts ready", "offset_days": 10},
            ],
            tasks=[
                {
                    "title": "Send the logo files",
                    "kind": "upload",
                    "for_client": True,
                    "offset_days": 3,
                    "folder": "Brand",
                    "milestone": "1",
                },
                {"title": "Book the kick-off call", "kind": "todo", "DELETE": True},
            ],
            initial_milestones=2,
            initial_tasks=2,
        ),
    )
    assert response.status_code == 302
    saved = template_json(ChecklistTemplate.objects.get(pk=onboarding.pk))
    assert saved["milestones"] == [{"title": "Accounts ready", "offset_days": 10}]
    # The task pointed at the second row, which is now the first milestone kept.
    assert [(t["title"], t["milestone"]) for t in saved["tasks"]] == [("Send the logo files", 0)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"template-name": ""}, "template-name"),
        ({"milestones-0-offset_days": "-1"}, "milestones-0-offset_days"),
        ({"milestones-0-offset_days": "3651"}, "milestones-0-offset_days"),
        ({"milestones-0-offset_days": "soon"}, "milestones-0-offset_days"),
        ({"milestones-0-title": ""}, "milestones-0-title"),
        ({"tasks-0-title": ""}, "tasks-0-title"),
        ({"tasks-0-kind": "meeting"}, "tasks-0-kind"),
        ({"tasks-0-milestone": "7"}, "tasks-0-milestone"),
        # The row it names is left blank.
        ({"tasks-0-milestone": "1"}, "tasks-0-milestone"),
        # A row with only its days filled in needs a title.
        ({"milestones-1-offset_days": "4"}, "milestones-1-title"),
    ],
)
def test_bad_rows_show_where_they_are_and_write_nothing(client, people, change, field):
    sign_in(client, people, "firm_admin")
    data = form_data(
        milestones=[{"title": "Design", "offset_days": 21}],
        tasks=[{"title": "Approve", "kind": "todo", "milestone": "0"}],
    )
    data.update(change)
    before = snapshot()
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert snapshot() == before
    body = response.content.decode()
    assert 'role="alert"' in body
    editor = response.context["form"]
    prefix, _, name = field.rpartition("-")
    if prefix == "template":
        assert editor.template.errors[name]
    else:
        group, index = prefix.split("-")
        assert getattr(editor, group).forms[int(index)].errors[name]


def test_what_the_service_refuses_shows_on_its_row(client, people, onboarding):
    """An upload task needs its folder: the service's rule, put back on the row."""
    sign_in(client, people, "firm_admin")
    before = snapshot()
    response = client.post(
        NEW,
        form_data(
            name="Uploads",
            tasks=[
                {"title": "Fine", "kind": "todo"},
                {"title": "Send the copy", "kind": "upload", "folder": ""},
            ],
        ),
    )
    assert response.status_code == 400
    assert snapshot() == before
    editor = response.context["form"]
    assert editor.tasks.forms[1].errors, editor.non_field_errors
    assert not editor.tasks.forms[0].errors


def test_a_name_already_taken_is_refused(client, people, onboarding):
    sign_in(client, people, "firm_admin")
    before = snapshot()
    response = client.post(NEW, form_data(name="Client onboarding"))
    assert response.status_code == 400
    assert snapshot() == before
    assert response.context["form"].template.errors["name"]


# --- deleting one -----------------------------------------------------------------------------


def test_delete_asks_first_then_deletes(client, people, onboarding):
    sign_in(client, people, "firm_admin")
    response = client.post(delete_url(onboarding))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete the template “Client onboarding”?" in body
    assert '<input type="hidden" name="confirm" value="on">' in body
    assert ChecklistTemplate.objects.filter(pk=onboarding.pk).exists()
    response = client.post(delete_url(onboarding), {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == TEMPLATES
    assert flashes(response) == [(messages.SUCCESS, "“Client onboarding” is deleted.")]
    assert not ChecklistTemplate.objects.filter(pk=onboarding.pk).exists()
    assert not TemplateMilestone.objects.exists() and not TemplateTask.objects.exists()
