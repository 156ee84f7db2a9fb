"""Checklist templates: firm admins manage them; staff use them; clients never see them;
bad rows are named by place and nothing is written."""

from __future__ import annotations

import pytest

from accounts.errors import Forbidden, Invalid, NotFound
from projects import services
from projects.models import ChecklistTemplate, TemplateMilestone, TemplateTask
from projects.selectors.json import template_json

ONBOARDING = {
    "name": "Client onboarding",
    "description": "The first month",
    "milestones": [{"title": "Kick-off", "offset_days": 3}, {"title": "Live", "offset_days": 30}],
    "tasks": [
        {
            "title": "Send the logo",
            "kind": "upload",
            "for_client": True,
            "offset_days": 5,
            "folder": " Brand  assets ",
            "milestone": 0,
        },
        {"title": "Sign off the design", "kind": "approval", "offset_days": 20, "milestone": 1},
        {"title": "Book the call"},
    ],
}


def test_a_firm_admin_creates_a_template(people):
    template = services.template_create(actor=people["firm_admin"], **ONBOARDING)
    shape = template_json(template)
    assert shape["name"] == "Client onboarding" and shape["days"] == 30
    assert shape["milestones"] == ONBOARDING["milestones"]
    assert shape["tasks"][0] == {
        "title": "Send the logo",
        "kind": "upload",
        "for_client": True,
        "offset_days": 5,
        "folder": "Brand assets",
        "milestone": 0,
    }
    assert shape["tasks"][2] == {
        "title": "Book the call",
        "kind": "todo",
        "for_client": False,
        "offset_days": None,
        "folder": "",
        "milestone": None,
    }
    assert template.created_by == people["firm_admin"]


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("staff_on_team", Forbidden),
        ("staff_off_team", Forbidden),
        ("client_admin", NotFound),
        ("client_member", NotFound),
    ],
)
def test_only_firm_admins_manage_templates(people, role, error):
    with pytest.raises(error):
        services.template_create(actor=people[role], **ONBOARDING)
    template = services.template_create(actor=people["firm_admin"], **ONBOARDING)
    with pytest.raises(error):
        services.template_change(actor=people[role], template=template, name="Other")
    with pytest.raises(error):
        services.template_delete(actor=people[role], template=template)
    assert ChecklistTemplate.objects.get().name == "Client onboarding"


def test_bad_rows_are_named_by_place_and_nothing_is_written(people):
    with pytest.raises(Invalid) as refused:
        services.template_create(
            actor=people["firm_admin"],
            name="",
            milestones=[{"title": "A", "offset_days": -1}, {"offset_days": 4000}],
            tasks=[
                {"title": "Logo", "kind": "upload"},
                {"title": "X", "kind": "call", "milestone": 2, "for_client": "yes"},
                {"title": "Y", "folder": "Brand", "offset_days": "3"},
            ],
        )
    assert refused.value.fields == {
        "name": "required",
        "milestones.0.offset_days": "invalid",
        "milestones.1.title": "required",
        "milestones.1.offset_days": "invalid",
        "tasks.0.folder": "required",
        "tasks.1.kind": "invalid",
        "tasks.1.milestone": "not_found",
        "tasks.1.for_client": "invalid",
        "tasks.2.folder": "invalid",
        "tasks.2.offset_days": "invalid",
    }
    with pytest.raises(Invalid) as refused:
        services.template_create(actor=people["firm_admin"], name="X", milestones="many")
    assert refused.value.fields == {"milestones": "invalid"}
    assert not ChecklistTemplate.objects.exists() and not TemplateTask.objects.exists()


def test_names_are_unique(people):
    services.template_create(actor=people["firm_admin"], **ONBOARDING)
    with pytest.raises(Invalid) as refused:
        services.template_create(actor=people["firm_admin"], **ONBOARDING)
    assert refused.value.fields == {"name": "taken"}


def test_changing_replaces_the_lists(people):
    admin = people["firm_admin"]
    template = services.template_create(actor=admin, **ONBOARDING)
    services.template_change(
        actor=admin,
        template=template,
        name="Onboarding, short",
        milestones=[{"title": "Done", "offset_days": 7}],
        tasks=[{"title": "Call", "milestone": 0, "offset_days": 1}],
    )
    shape = template_json(ChecklistTemplate.objects.get())
    assert shape["name"] == "Onboarding, short" and shape["description"] == "The first month"
    assert shape["milestones"] == [{"title": "Done", "offset_days": 7}]
    assert [t["title"] for t in shape["tasks"]] == ["Call"]
    assert TemplateMilestone.objects.count() == 1
    # The two lists go together: tasks name milestones by index.
    with pytest.raises(Invalid) as refused:
        services.template_change(actor=admin, template=template, milestones=[])
    assert refused.value.fields == {"tasks": "required"}
    assert TemplateTask.objects.count() == 1


def test_deleting_a_template(people):
    template = services.template_create(actor=people["firm_admin"], **ONBOARDING)
    services.template_delete(actor=people["firm_admin"], template=template)
    assert not ChecklistTemplate.objects.exists() and not TemplateTask.objects.exists()


def test_an_inactive_admin_manages_nothing(people):
    admin = people["firm_admin"]
    template = services.template_create(actor=admin, **ONBOARDING)
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    with pytest.raises(NotFound):
        services.template_delete(actor=admin, template=template)
    with pytest.raises(NotFound):
        services.template_for(admin, template.public_id)
    assert ChecklistTemplate.objects.exists()
