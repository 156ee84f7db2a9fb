"""The shapes a plan travels in (``projects.selectors.json``), the same everywhere."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from projects.models import ChecklistTemplate, Task, TemplateMilestone, TemplateTask
from projects.progress import Counts
from projects.selectors.json import (
    TASK_RELATED,
    matter_summary_json,
    milestone_json,
    task_json,
    template_json,
)
from vault.models import Folder

TODAY = dt.date(2027, 1, 20)


def test_a_task_as_json(plan, people, acme):
    member = people["client_member"]
    plan.mine.due = dt.date(2027, 1, 10)
    plan.mine.save(update_fields=["due"])
    task = Task.objects.select_related(*TASK_RELATED).get(pk=plan.mine.pk)
    shape = task_json(task, today=TODAY)
    assert shape == {
        "id": task.public_id,
        "title": "Send the logo files",
        "matter": plan.matter.public_id,
        "milestone": plan.design.public_id,
        "kind": "todo",
        "assignee": {
            "id": member.public_id,
            "name": member.name,
            "initials": member.initials,
            "avatar": None,
        },
        "due": "2027-01-10",
        "done": False,
        "done_at": None,
        "done_by": None,
        "overdue": True,
        "position": 0,
        "folder": None,
        "approval": None,
    }
    clients = task_json(plan.clients, today=TODAY)
    assert clients["assignee"] == "client"
    assert clients["due"] is None and clients["overdue"] is False


def test_a_done_upload_task_is_never_overdue(plan, people, acme):
    folder = Folder.objects.create(account=acme, name="Brand assets")
    at = timezone.now()
    plan.mine.kind, plan.mine.folder = "upload", folder
    plan.mine.due, plan.mine.done_at, plan.mine.done_by = (
        dt.date(2027, 1, 1),
        at,
        people["client_admin"],
    )
    plan.mine.save()
    shape = task_json(plan.mine, today=TODAY)
    assert shape["folder"] == {"id": folder.public_id, "name": "Brand assets"}
    assert (shape["done"], shape["overdue"]) == (True, False)
    assert shape["done_at"] == at.isoformat()
    assert shape["done_by"]["id"] == people["client_admin"].public_id


def test_a_milestone_as_json(plan):
    shape = milestone_json(plan.design, Counts(total=4, done=1, overdue=1), today=TODAY)
    assert shape == {
        "id": plan.design.public_id,
        "title": "Design",
        "due": "2027-01-15",
        "status": "in_progress",
        "progress": 25,
        "overdue": True,
        "tasks": {"total": 4, "done": 1, "overdue": 1},
        "position": 0,
    }
    done = milestone_json(plan.design, Counts(total=2, done=2), today=TODAY)
    assert (done["status"], done["progress"], done["overdue"]) == ("done", 100, False)
    empty = milestone_json(plan.design, Counts(), today=dt.date(2027, 1, 1))
    assert (empty["status"], empty["progress"], empty["overdue"]) == ("upcoming", 0, False)


def test_a_matter_summary(plan, people, acme):
    matter = plan.matter
    matter.start_date, matter.target_date = dt.date(2027, 1, 1), dt.date(2027, 3, 1)
    shape = matter_summary_json(matter, Counts(total=3, done=1), plan.design, today=TODAY)
    assert shape["id"] == matter.public_id and shape["account"] == acme.public_id
    assert (shape["start"], shape["target"]) == ("2027-01-01", "2027-03-01")
    assert shape["owner"]["id"] == people["staff_on_team"].public_id
    assert (shape["progress"], shape["overdue"]) == (33, False)
    assert shape["tasks"] == {"total": 3, "done": 1, "overdue": 0}
    assert shape["next_milestone"] == {
        "id": plan.design.public_id,
        "title": "Design",
        "due": "2027-01-15",
        "overdue": True,
    }
    assert shape["status"] == "planned" and shape["privileged"] is False
    # Late: a task overdue, or the target passed short of 100 %.
    assert matter_summary_json(matter, Counts(3, 1, 1), None, today=TODAY)["overdue"]
    after = dt.date(2027, 3, 2)
    assert matter_summary_json(matter, Counts(3, 1), None, today=after)["overdue"]
    assert not matter_summary_json(matter, Counts(3, 3), None, today=after)["overdue"]
    assert matter_summary_json(matter, Counts(), None, today=TODAY)["next_milestone"] is None


def test_a_template_as_json(db):
    template = ChecklistTemplate.objects.create(name="Client onboarding", description="Day one")
    kickoff = TemplateMilestone.objects.create(
        template=template, title="Kick-off", offset_days=7, position=0
    )
    TemplateMilestone.objects.create(template=template, title="Live", offset_days=30, position=1)
    TemplateTask.objects.create(
        template=template,
        milestone=kickoff,
        title="Logo",
        kind="upload",
        for_client=True,
        offset_days=45,
        folder_name="Brand",
        position=0,
    )
    TemplateTask.objects.create(template=template, title="Call", position=1)
    assert template_json(template) == {
        "id": template.public_id,
        "name": "Client onboarding",
        "description": "Day one",
        "days": 45,
        "milestones": [
            {"title": "Kick-off", "offset_days": 7},
            {"title": "Live", "offset_days": 30},
        ],
        "tasks": [
            {
                "title": "Logo",
                "kind": "upload",
                "for_client": True,
                "offset_days": 45,
                "folder": "Brand",
                "milestone": 0,
            },
            {
                "title": "Call",
                "kind": "todo",
                "for_client": False,
                "offset_days": None,
                "folder": "",
                "milestone": None,
            },
        ],
    }
