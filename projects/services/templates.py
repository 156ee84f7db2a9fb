"""Checklist templates: the firm's named plans ("12-week SaaS rollout") that matters start
from. Firm admins create, change and delete them; other staff only use them (``Forbidden``),
and clients never see them (``NotFound``).

Input is shaped as ``projects.selectors.json.template_json`` shows a template:
``milestones`` ``[{"title", "offset_days"}]`` and ``tasks`` ``[{"title", "kind"?,
"for_client"?, "offset_days"?, "folder"?, "milestone"?}]``, where a task's ``milestone`` is
the index of its milestone in ``milestones``. Field errors are named by place:
``{"tasks.2.offset_days": "invalid"}``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import User
from projects.models import (
    MAX_OFFSET_DAYS,
    ChecklistTemplate,
    TaskKind,
    TemplateMilestone,
    TemplateTask,
)
from projects.services.lookups import (
    Checks,
    checked_kind,
    checked_text,
    checked_title,
    templates_visible,
)

MAX_NAME_CHARS = 120
MAX_FOLDER_CHARS = 120
# A template is a plan a person reads through: bounded like every list.
MAX_TEMPLATE_MILESTONES = 100
MAX_TEMPLATE_TASKS = 500


def _manage_check(actor: User) -> None:
    if permissions.can_manage_firm(actor):
        return
    if templates_visible(actor):
        raise Forbidden("Only firm admins manage checklist templates.")
    raise NotFound


def _offset(value: object, field: str, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET_DAYS:
        raise Invalid(
            f"{field} is a number of days from 0 to {MAX_OFFSET_DAYS}.",
            fields={field: "required" if value is None else "invalid"},
        )
    return value


def _rows(value: object, field: str, limit: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise Invalid(f"{field} is a list of objects.", fields={field: "invalid"})
    if len(value) > limit:
        raise Invalid(f"At most {limit} {field}.", fields={field: "too_long"})
    return value


def _checked_milestones(checks: Checks, rows: list) -> list[TemplateMilestone]:
    milestones = []
    for number, row in enumerate(rows):
        place = f"milestones.{number}"
        milestones.append(
            TemplateMilestone(
                title=checks(checked_title, row.get("title"), f"{place}.title"),
                offset_days=checks(
                    _offset, row.get("offset_days"), f"{place}.offset_days", required=True
                ),
                position=number,
            )
        )
    return milestones


def _checked_folder(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise Invalid(f"{field} is a folder's name.", fields={field: "invalid"})
    name = " ".join(value.split())
    if len(name) > MAX_FOLDER_CHARS or name in {".", ".."}:
        raise Invalid(
            f"{field} is at most {MAX_FOLDER_CHARS} characters.", fields={field: "invalid"}
        )
    return name


def _checked_tasks(
    checks: Checks, rows: list, milestones: int
) -> list[tuple[TemplateTask, int | None]]:
    tasks = []
    for number, row in enumerate(rows):
        place = f"tasks.{number}"
        try:
            kind = checked_kind(row.get("kind"))
        except Invalid:
            checks.fail(
                Invalid("kind is todo, upload or approval.", fields={f"{place}.kind": "invalid"})
            )
            kind = TaskKind.TODO
        for_client = row.get("for_client", False)
        if not isinstance(for_client, bool):
            checks.fail(
                Invalid("for_client is true or false.", fields={f"{place}.for_client": "invalid"})
            )
        folder = checks(_checked_folder, row.get("folder"), f"{place}.folder") or ""
        if kind == TaskKind.UPLOAD and not folder:
            checks.fail(
                Invalid("An upload task names its folder.", fields={f"{place}.folder": "required"})
            )
        if kind != TaskKind.UPLOAD and folder:
            checks.fail(
                Invalid("Only an upload task has a folder.", fields={f"{place}.folder": "invalid"})
            )
        index = row.get("milestone")
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < milestones
        ):
            checks.fail(
                Invalid(
                    "milestone is the index of one of the milestones.",
                    fields={f"{place}.milestone": "not_found"},
                )
            )
            index = None
        task = TemplateTask(
            title=checks(checked_title, row.get("title"), f"{place}.title"),
            kind=kind,
            for_client=for_client is True,
            offset_days=checks(
                _offset, row.get("offset_days"), f"{place}.offset_days", required=False
            ),
            folder_name=folder,
            position=number,
        )
        tasks.append((task, index))
    return tasks


def _checked_name(value: object, template: ChecklistTemplate | None) -> str:
    name = checked_title(value, "name", limit=MAX_NAME_CHARS)
    taken = ChecklistTemplate.objects.filter(name=name)
    if template is not None:
        taken = taken.exclude(pk=template.pk)
    if taken.exists():
        raise Invalid("A template of that name exists.", fields={"name": "taken"})
    return name


def _store_lists(template: ChecklistTemplate, milestones, tasks) -> None:
    template.milestones.all().delete()
    template.tasks.all().delete()
    for row in milestones:
        row.template = template
    TemplateMilestone.objects.bulk_create(milestones)
    saved = list(template.milestones.order_by("position"))
    for task, index in tasks:
        task.template = template
        task.milestone = saved[index] if index is not None else None
    TemplateTask.objects.bulk_create([task for task, _ in tasks])


def _checked_lists(checks: Checks, milestones: object, tasks: object):
    milestone_rows = checks(_rows, milestones, "milestones", MAX_TEMPLATE_MILESTONES) or []
    task_rows = checks(_rows, tasks, "tasks", MAX_TEMPLATE_TASKS) or []
    checked_milestones = _checked_milestones(checks, milestone_rows)
    checked_tasks = _checked_tasks(checks, task_rows, len(milestone_rows))
    return checked_milestones, checked_tasks


def template_create(
    *,
    actor: User,
    name: object,
    description: object = "",
    milestones: object = None,
    tasks: object = None,
) -> ChecklistTemplate:
    """A new template (firm admins). Invalid names every field at fault, by place."""
    _manage_check(actor)
    checks = Checks()
    name = checks(_checked_name, name, None)
    description = checks(checked_text, description, "description")
    checked_milestones, checked_tasks = _checked_lists(checks, milestones, tasks)
    checks.raise_any()
    try:
        with transaction.atomic():
            template = ChecklistTemplate.objects.create(
                name=name, description=description, created_by=actor
            )
            _store_lists(template, checked_milestones, checked_tasks)
    except IntegrityError:
        # The same name taken at the same moment by another admin.
        raise Invalid("A template of that name exists.", fields={"name": "taken"}) from None
    return template


_UNCHANGED = object()


def template_change(
    *,
    actor: User,
    template: ChecklistTemplate,
    name: object = _UNCHANGED,
    description: object = _UNCHANGED,
    milestones: object = _UNCHANGED,
    tasks: object = _UNCHANGED,
) -> ChecklistTemplate:
    """Change a template (firm admins): what is given replaces what was; ``milestones`` and
    ``tasks`` replace both lists (given together, since tasks name milestones by index).
    Matters already started from it keep their plans."""
    _manage_check(actor)
    checks = Checks()
    if name is not _UNCHANGED:
        template.name = checks(_checked_name, name, template)
    if description is not _UNCHANGED:
        template.description = checks(checked_text, description, "description")
    lists = milestones is not _UNCHANGED or tasks is not _UNCHANGED
    if lists:
        for field, given in (("milestones", milestones), ("tasks", tasks)):
            if given is _UNCHANGED:
                checks.fail(
                    Invalid("Send milestones and tasks together.", fields={field: "required"})
                )
        checked_milestones, checked_tasks = _checked_lists(
            checks,
            None if milestones is _UNCHANGED else milestones,
            None if tasks is _UNCHANGED else tasks,
        )
    checks.raise_any()
    try:
        with transaction.atomic():
            template.updated_at = timezone.now()
            template.save(update_fields=["name", "description", "updated_at"])
            if lists:
                _store_lists(template, checked_milestones, checked_tasks)
    except IntegrityError:
        raise Invalid("A template of that name exists.", fields={"name": "taken"}) from None
    return template


def template_delete(*, actor: User, template: ChecklistTemplate) -> None:
    """Delete a template (firm admins); matters started from it keep their plans."""
    _manage_check(actor)
    template.delete()
