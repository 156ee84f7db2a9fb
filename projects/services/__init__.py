"""Every write of a matter's plan, with its rules, split by subdomain: lookups and input
checks, the plan itself, milestones, tasks and checklist templates. Permission questions go
to ``accounts.permissions``; missing and not visible both raise ``NotFound``. Each write runs
in a transaction, records a ``Change`` and announces itself (``projects.announce``). Callers
use the names re-exported here."""

from projects.services.lookups import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    approval_in,
    assignee_in,
    checked_date,
    checked_title,
    folder_in,
    matter_change_check,
    milestone_for,
    milestone_in,
    staff_on_team,
    task_for,
    template_for,
    templates_visible,
)
from projects.services.milestones import (
    milestone_add,
    milestone_change,
    milestone_delete,
    milestone_move,
)
from projects.services.plans import matter_plan_change, matter_plan_create, template_instantiate
from projects.services.tasks import (
    task_add,
    task_change,
    task_delete,
    task_set_done,
    tasks_complete,
)
from projects.services.templates import template_change, template_create, template_delete

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_TITLE_CHARS",
    "approval_in",
    "assignee_in",
    "checked_date",
    "checked_title",
    "folder_in",
    "matter_change_check",
    "matter_plan_change",
    "matter_plan_create",
    "milestone_add",
    "milestone_change",
    "milestone_delete",
    "milestone_for",
    "milestone_in",
    "milestone_move",
    "staff_on_team",
    "task_add",
    "task_change",
    "task_delete",
    "task_for",
    "task_set_done",
    "tasks_complete",
    "template_change",
    "template_create",
    "template_delete",
    "template_for",
    "template_instantiate",
    "templates_visible",
]
