"""The forms of a matter's plan: opening a matter from a template, the plan's dates and owner,
milestones and tasks. They read what a person typed; the plan's services decide what is
allowed and answer in their words (``accounts.errors.Invalid`` naming the fields)."""

from __future__ import annotations

from datetime import date

from django import forms

from accounts.services.firm import Vocabulary
from frontend.forms import MatterForm
from projects.models import ChecklistTemplate, TaskKind
from projects.selectors.json import CLIENT
from projects.services import MAX_DESCRIPTION_CHARS

# What a date field of the browser sends, whatever the reader's locale: "YYYY-MM-DD" only,
# so that 03/04/2027 is never taken for a month it was not meant as.
DATE_FORMATS = ["%Y-%m-%d"]


def _date_field(label: str, *, required: bool = False, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **kwargs,
    )


def iso(day: date | None) -> str | None:
    """A date as the services take it from JSON."""
    return day.isoformat() if day is not None else None


class NewMatterForm(MatterForm):
    """A new matter, started from a checklist template if one is chosen."""

    template = forms.ChoiceField(label="Start from a template", required=False)
    start = _date_field(
        "Start date",
        help_text="The template's due dates count from it. Today if left empty.",
    )
    field_order = ["title", "template", "start", "description", "status", "privileged"]

    def __init__(
        self,
        *args,
        templates: list[ChecklistTemplate] = (),
        vocab: Vocabulary | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "None: an empty plan")] + [
            (t.public_id, t.name) for t in templates
        ]
        if vocab is not None:
            self.fields[
                "template"
            ].help_text = f"Its milestones and tasks become this {vocab.matter_lower}'s plan."


class PlanForm(forms.Form):
    """A matter's plan as a whole: title, description, dates, owner."""

    title = forms.CharField(label="Title", max_length=200)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=MAX_DESCRIPTION_CHARS,
        widget=forms.Textarea({"rows": 3}),
    )
    start = _date_field("Start date")
    target = _date_field("Target date")
    owner = forms.ChoiceField(label="Owner", required=False)

    def __init__(self, *args, team=(), **kwargs) -> None:
        kwargs.setdefault("auto_id", "plan_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Nobody yet")] + [
            (person.public_id, person.name) for person in team
        ]

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "start": iso(data["start"]),
            "target": iso(data["target"]),
            "owner": data["owner"] or None,
        }


class MilestoneForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    due = _date_field("Due", required=True)

    def __init__(self, *args, prefix_ids: str = "milestone", **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{prefix_ids}_%s")
        super().__init__(*args, **kwargs)

    def service_fields(self) -> dict:
        return {"title": self.cleaned_data["title"], "due": iso(self.cleaned_data["due"])}


class TaskForm(forms.Form):
    """A task's fields; the choices are the plan's (``projects.selectors.plan.plan_choices``)."""

    title = forms.CharField(label="Task", max_length=200)
    milestone = forms.ChoiceField(label="Milestone", required=False)
    assignee = forms.ChoiceField(label="Assigned to", required=False)
    due = _date_field("Due")
    kind = forms.ChoiceField(
        label="Done when",
        choices=[
            (TaskKind.TODO, "Someone ticks it"),
            (TaskKind.UPLOAD, "A document is added to a folder"),
            (TaskKind.APPROVAL, "An approval request is approved"),
        ],
        initial=TaskKind.TODO,
    )
    folder = forms.ChoiceField(
        label="Folder (for an upload)", required=False, help_text="Where the document is awaited."
    )
    approval = forms.ChoiceField(label="Approval request (for an approval)", required=False)

    def __init__(self, *args, plan=None, choices=None, prefix_ids: str = "task", **kwargs):
        kwargs.setdefault("auto_id", f"{prefix_ids}_%s")
        super().__init__(*args, **kwargs)
        milestones = plan.milestones if plan is not None else []
        self.fields["milestone"].choices = [("", "None")] + [
            (p.milestone.public_id, p.milestone.title) for p in milestones
        ]
        people = choices.assignable if choices is not None else []
        self.fields["assignee"].choices = [
            ("", "Nobody yet"),
            (CLIENT, "The client (anyone of them)"),
        ] + [(person.public_id, person.name) for person in people]
        folders = choices.folders if choices is not None else []
        self.fields["folder"].choices = [("", "None")] + [(f.public_id, f.name) for f in folders]
        approvals = choices.approvals if choices is not None else []
        self.fields["approval"].choices = [("", "None")] + [
            (a.public_id, a.title) for a in approvals
        ]

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "milestone": data["milestone"] or None,
            "assignee": data["assignee"] or None,
            "due": iso(data["due"]),
            "kind": data["kind"],
            "folder": data["folder"] or None,
            "approval": data["approval"] or None,
        }


def task_initial(task) -> dict:
    """What a task's edit form starts from."""
    if task.for_client:
        assignee = CLIENT
    else:
        assignee = task.assignee.public_id if task.assignee is not None else ""
    return {
        "title": task.title,
        "milestone": task.milestone.public_id if task.milestone is not None else "",
        "assignee": assignee,
        "due": task.due,
        "kind": task.kind,
        "folder": task.folder.public_id if task.folder is not None else "",
        "approval": task.approval.public_id if task.approval is not None else "",
    }


class MilestoneActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("edit", "Save"), ("up", "Earlier"), ("down", "Later"), ("delete", "Delete")]
    )
    confirm = forms.BooleanField(required=False)


class TaskActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("edit", "Save"), ("done", "Done or not"), ("delete", "Delete")]
    )
    # For ``done``: "1" marks the task done, "0" not done.
    done = forms.ChoiceField(choices=[("1", "Done"), ("0", "Not done")], required=False)
    confirm = forms.BooleanField(required=False)
