"""The checklist template form: its name and description, and rows of milestones and tasks
(formsets), without script. Blank rows are there to be filled; "Add rows" posts the form
back with more of them, saving nothing. Forms parse input only: the template services
(``projects.services``) hold the rules and report what is wrong, which ``apply_errors``
puts back on the rows."""

from __future__ import annotations

import re

from django import forms

from accounts.errors import Invalid
from projects.models import MAX_OFFSET_DAYS, TaskKind

# Blank rows a new form offers, and how many more "Add rows" gives.
BLANK_MILESTONES = 3
BLANK_TASKS = 5
MORE_ROWS = 3
# No more rows than this in one form (Django's formsets count them).
MAX_ROWS = 200

MILESTONES = "milestones"
TASKS = "tasks"


def _offset(*, required: bool, label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=MAX_OFFSET_DAYS,
        required=required,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class TemplateForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=120, help_text="For example “Client onboarding”."
    )
    description = forms.CharField(
        label="Description",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MilestoneRow(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    offset_days = _offset(required=True, label="Days after the start")


class TaskRow(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    kind = forms.ChoiceField(label="Kind", choices=TaskKind.choices, initial=TaskKind.TODO)
    for_client = forms.BooleanField(label="The client's to do", required=False)
    offset_days = _offset(required=False, label="Days after the start (optional)")
    folder = forms.CharField(label="Folder (upload tasks)", max_length=120, required=False)
    milestone = forms.ChoiceField(label="Milestone", required=False, initial="")

    def __init__(self, *args, milestone_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].choices = [("", "None"), *milestone_choices]


class _Rows(forms.BaseFormSet):
    """Rows in the order given. A blank new row is skipped (Django's formsets leave a new row
    nobody touched unchecked), and so is a row ticked "Remove"."""

    def kept(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if form.cleaned_data.get("title") and not self._should_delete_form(form)
        ]


MilestoneRows = forms.formset_factory(
    MilestoneRow, formset=_Rows, extra=0, can_delete=True, max_num=MAX_ROWS, absolute_max=MAX_ROWS
)
TaskRows = forms.formset_factory(
    TaskRow, formset=_Rows, extra=0, can_delete=True, max_num=MAX_ROWS, absolute_max=MAX_ROWS
)


class TemplateEditor:
    """The whole form: ``template`` (name, description) and the two formsets, bound to a
    post or filled from ``template_json`` (a template being edited) or blank."""

    def __init__(self, data=None, *, initial: dict | None = None, more: str = ""):
        initial = initial or {}
        milestone_rows = [
            {"title": m["title"], "offset_days": m["offset_days"]}
            for m in initial.get("milestones", [])
        ]
        task_rows = [
            {
                "title": t["title"],
                "kind": t["kind"],
                "for_client": t["for_client"],
                "offset_days": t["offset_days"],
                "folder": t["folder"],
                "milestone": "" if t["milestone"] is None else str(t["milestone"]),
            }
            for t in initial.get("tasks", [])
        ]
        if data is not None:
            data = data.copy()
            for prefix in (MILESTONES, TASKS):
                if more == prefix:
                    key = f"{prefix}-TOTAL_FORMS"
                    total = data.get(key, "0")
                    total = int(total) if total.isdigit() else 0
                    data[key] = str(min(total + MORE_ROWS, MAX_ROWS))
        self.template = TemplateForm(
            data,
            initial={k: initial.get(k, "") for k in ("name", "description")},
            prefix="template",
        )
        self.milestones = MilestoneRows(data, initial=milestone_rows, prefix=MILESTONES)
        # Blank rows to fill, on a form not yet sent; a sent one says how many it has.
        self.milestones.extra = BLANK_MILESTONES
        self.tasks = TaskRows(
            data,
            initial=task_rows,
            prefix=TASKS,
            form_kwargs={"milestone_choices": self._milestone_choices()},
        )
        self.tasks.extra = BLANK_TASKS
        self.non_field_errors: list[str] = []
        self._place: dict[int, int] = {}
        self._milestone_forms: list[forms.Form] = []
        self._task_forms: list[forms.Form] = []

    def _milestone_choices(self) -> list[tuple[str, str]]:
        """One choice per milestone row of the form, by its number and, once known, its
        title: a task names the row, the service is given its place among the rows kept."""
        choices = []
        for index, form in enumerate(self.milestones.forms):
            title = str(form["title"].value() or "").strip()
            label = f"Milestone {index + 1}" + (f": {title}" if title else "")
            choices.append((str(index), label))
        return choices

    @property
    def errors(self) -> bool:
        return bool(
            self.template.errors
            or self.milestones.total_error_count()
            or self.tasks.total_error_count()
            or self.non_field_errors
        )

    def is_valid(self) -> bool:
        self.non_field_errors = []
        # Every part is checked, so that every error shows at once.
        valid = self.template.is_valid() & self.milestones.is_valid() & self.tasks.is_valid()
        if not valid:
            return False
        kept = self.milestones.kept()
        self._place = {self.milestones.forms.index(form): n for n, form in enumerate(kept)}
        for form in self.tasks.kept():
            chosen = form.cleaned_data.get("milestone")
            if chosen and int(chosen) not in self._place:
                form.add_error("milestone", "That milestone row is blank or removed.")
                valid = False
        return valid

    def cleaned(self) -> dict:
        """The service's input (``template_json``'s shape)."""
        milestone_forms = self.milestones.kept()
        task_forms = self.tasks.kept()
        self._milestone_forms, self._task_forms = milestone_forms, task_forms
        return {
            "name": self.template.cleaned_data["name"],
            "description": self.template.cleaned_data["description"],
            "milestones": [
                {"title": f.cleaned_data["title"], "offset_days": f.cleaned_data["offset_days"]}
                for f in milestone_forms
            ],
            "tasks": [
                {
                    "title": f.cleaned_data["title"],
                    "kind": f.cleaned_data["kind"],
                    "for_client": f.cleaned_data["for_client"],
                    "offset_days": f.cleaned_data["offset_days"],
                    "folder": f.cleaned_data["folder"],
                    "milestone": (
                        self._place[int(f.cleaned_data["milestone"])]
                        if f.cleaned_data["milestone"]
                        else None
                    ),
                }
                for f in task_forms
            ],
        }

    def apply_errors(self, error: Invalid) -> None:
        """Put a service's refusal on the fields it names (``name``, or a row's field by its
        place among the rows kept: ``tasks.2.folder``), each in words of its own; what names
        no field of the form is said above it, in the service's words."""
        placed = False
        for key, code in error.fields.items():
            if key in self.template.fields:
                self.template.add_error(key, _words(key, code))
                placed = True
                continue
            found = re.fullmatch(r"(milestones|tasks)\.(\d+)\.([a-z_]+)", key)
            if found is None:
                continue
            rows = self._milestone_forms if found[1] == MILESTONES else self._task_forms
            index = int(found[2])
            if index < len(rows) and found[3] in rows[index].fields:
                rows[index].add_error(found[3], _words(found[3], code))
                placed = True
        if not placed:
            self.non_field_errors.append(error.message)


# A service's error code on a field, as the form says it beside the field.
_FIELD_WORDS = {
    ("name", "taken"): "A template of that name exists.",
    ("folder", "required"): "An upload task names the folder its document goes in.",
    ("folder", "invalid"): "Only an upload task has a folder; leave it empty for the others.",
    ("milestone", "not_found"): "Choose one of the milestones above.",
}
_CODE_WORDS = {
    "required": "Fill this in.",
    "too_long": "This is too long.",
    "taken": "This is taken.",
    "not_found": "This is not one of the choices.",
}


def _words(field: str, code: str) -> str:
    return _FIELD_WORDS.get((field, code)) or _CODE_WORDS.get(code, "This is not valid here.")
