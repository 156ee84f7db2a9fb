"""Permission-checked lookups that the plan's interfaces and writes start from, and the checks
of raw input (as JSON gives it) that every service shares.

Objects by public id: missing and not visible both raise ``NotFound``; visible but not
allowed raises ``Forbidden``. Objects named in a field (a milestone, an assignee, a folder,
an approval request) raise ``Invalid`` with ``fields={name: "not_found"}`` instead, since the
request is what is wrong.
"""

from __future__ import annotations

import datetime as dt

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import Matter, User
from accounts.permissions import Action, TaskAction
from accounts.selectors import user_by_public_id
from approvals.models import ApprovalRequest
from projects.models import ChecklistTemplate, Milestone, Task, TaskKind
from projects.selectors.json import CLIENT, TASK_RELATED
from vault.models import Folder

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000

_TASK_ROW = (*TASK_RELATED, "matter__account", "matter__owner")


# --- raw input ------------------------------------------------------------------------------


def checked_title(value: object, field: str = "title", *, limit: int = MAX_TITLE_CHARS) -> str:
    """A required one-line text: whitespace runs become one space."""
    if not isinstance(value, str):
        raise Invalid(
            f"{field} is a text.", fields={field: "required" if value is None else "invalid"}
        )
    if "\x00" in value:
        raise Invalid(f"{field} may not hold a NUL character.", fields={field: "invalid"})
    text = " ".join(value.split())
    if not text:
        raise Invalid(f"Give a {field}.", fields={field: "required"})
    if len(text) > limit:
        raise Invalid(f"{field} is at most {limit} characters.", fields={field: "too_long"})
    return text


def checked_text(value: object, field: str, *, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """An optional text (None is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise Invalid(f"{field} is a text.", fields={field: "invalid"})
    text = value.strip()
    if len(text) > limit:
        raise Invalid(f"{field} is at most {limit} characters.", fields={field: "too_long"})
    return text


def checked_date(value: object, field: str, *, required: bool = False) -> dt.date | None:
    """A date, given as a ``date`` or as "YYYY-MM-DD"; None (or "") when not required."""
    if value is None or value == "":
        if required:
            raise Invalid(f"Give {field} as YYYY-MM-DD.", fields={field: "required"})
        return None
    if isinstance(value, dt.datetime):
        raise Invalid(f"{field} is a date (YYYY-MM-DD).", fields={field: "invalid"})
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"{field} is a date (YYYY-MM-DD).", fields={field: "invalid"})


def checked_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{field} is true or false.", fields={field: "invalid"})
    return value


def checked_kind(value: object) -> str:
    if value is None:
        return TaskKind.TODO
    if value not in TaskKind.values:
        raise Invalid('kind is "todo", "upload" or "approval".', fields={"kind": "invalid"})
    return str(value)


def checked_position(value: object, field: str = "position") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"{field} is a whole number from 0.", fields={field: "invalid"})
    return value


# --- objects by public id -------------------------------------------------------------------


def matter_change_check(actor: User, matter: Matter) -> None:
    """NotFound unless the actor sees the matter; Forbidden unless they may change its plan
    (the account team, or a firm admin)."""
    if permissions.can_on_item(actor, Action.CHANGE, matter):
        return
    if permissions.can_on_item(actor, Action.VIEW, matter):
        raise Forbidden("Only the account team changes the plan.")
    raise NotFound


def milestone_for(actor: User, public_id: object) -> Milestone:
    """A milestone of a matter the actor sees, else NotFound."""
    if not is_public_id(public_id):
        raise NotFound
    milestone = (
        Milestone.objects.select_related("matter__account", "matter__owner")
        .filter(public_id=public_id)
        .first()
    )
    if milestone is None or not permissions.can_on_item(actor, Action.VIEW, milestone.matter):
        raise NotFound
    return milestone


def task_for(actor: User, public_id: object) -> Task:
    """A task the actor may see (``can_on_task`` VIEW), else NotFound."""
    if not is_public_id(public_id):
        raise NotFound
    task = Task.objects.select_related(*_TASK_ROW).filter(public_id=public_id).first()
    if task is None or not permissions.can_on_task(actor, TaskAction.VIEW, task):
        raise NotFound
    return task


def templates_visible(actor: User) -> bool:
    """Whether the actor sees the firm's checklist templates: active firm staff."""
    return bool(
        actor is not None and actor.is_authenticated and actor.is_active and actor.is_firm_staff
    )


def template_for(actor: User, public_id: object) -> ChecklistTemplate:
    """A checklist template, for firm staff (who start matters from them); NotFound for
    anyone else, who never sees the firm's templates."""
    if not templates_visible(actor) or not is_public_id(public_id):
        raise NotFound
    template = (
        ChecklistTemplate.objects.prefetch_related("milestones", "tasks")
        .filter(public_id=public_id)
        .first()
    )
    if template is None:
        raise NotFound
    return template


# --- objects named in a field ---------------------------------------------------------------


def _not_found(field: str, message: str) -> Invalid:
    return Invalid(message, fields={field: "not_found"})


def milestone_in(matter: Matter, value: object, field: str = "milestone") -> Milestone | None:
    """The matter's milestone with this id; None for null. A milestone of another matter is
    not found, like a missing one."""
    if value is None or value == "":
        return None
    milestone = (
        Milestone.objects.filter(public_id=value, matter=matter).first()
        if is_public_id(value)
        else None
    )
    if milestone is None:
        raise _not_found(field, "No such milestone in this matter.")
    return milestone


def assignee_in(matter: Matter, value: object) -> tuple[User | None, bool]:
    """Whose a task is: ``(person, False)`` for "usr_…" (an active person who may see the
    matter: one of the account's people or someone serving it; for a privileged matter a
    grantee), ``(None, True)`` for "client", ``(None, False)`` for nobody (null)."""
    if value is None or value == "":
        return None, False
    if value == CLIENT:
        return None, True
    person = user_by_public_id(value, active_only=True)
    if person is None or not permissions.can_on_item(person, Action.VIEW, matter):
        raise _not_found("assignee", "No such person on this matter.")
    return person, False


def staff_on_team(matter: Matter, value: object, field: str = "owner") -> User | None:
    """A person serving the matter's account (its team, or a firm admin) who may see the
    matter; None for null."""
    if value is None or value == "":
        return None
    person = user_by_public_id(value, active_only=True) if isinstance(value, str) else None
    if (
        person is None
        or not person.is_firm_staff
        or not permissions.can_on_item(person, Action.CHANGE, matter)
    ):
        raise _not_found(field, "No such person on the account team.")
    return person


def folder_in(matter: Matter, value: object) -> Folder | None:
    """A vault folder of the matter's account; None for null."""
    if value is None or value == "":
        return None
    folder = (
        Folder.objects.filter(public_id=value, account_id=matter.account_id).first()
        if is_public_id(value)
        else None
    )
    if folder is None:
        raise _not_found("folder", "No such folder in this client account.")
    return folder


def approval_in(matter: Matter, value: object) -> ApprovalRequest | None:
    """An approval request of the matter's account; None for null. A privileged request is
    found only for a privileged matter, so a task never shows one to more people than may
    see it."""
    if value is None or value == "":
        return None
    approval = (
        ApprovalRequest.objects.filter(public_id=value, account_id=matter.account_id).first()
        if is_public_id(value)
        else None
    )
    if approval is None or (approval.privileged and not matter.privileged):
        raise _not_found("approval", "No such approval request in this client account.")
    return approval


def checked_fields(fields: object, allowed: frozenset[str]) -> dict:
    """A change's ``fields``: a dict of known names, at least one."""
    if not isinstance(fields, dict):
        raise Invalid("Send the fields to change as an object.", fields={"fields": "invalid"})
    unknown = sorted(name for name in fields if name not in allowed)
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(map(str, unknown))}.",
            fields={str(name): "unknown" for name in unknown},
        )
    if not fields:
        raise Invalid("Nothing to change.", fields={"fields": "required"})
    return fields


class Checks:
    """Runs several input checks and raises one ``Invalid`` naming every field at fault,
    so a form shows all its mistakes at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.messages: list[str] = []

    def __call__(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except Invalid as refused:
            self.fail(refused)
            return None

    def fail(self, refused: Invalid) -> None:
        self.fields.update(refused.fields)
        self.messages.append(refused.message)

    def raise_any(self) -> None:
        if self.fields:
            raise Invalid(" ".join(self.messages), fields=self.fields)


def day_text(value: dt.date) -> str:
    """A date as a client reads it in a sentence: "15 Jan 2027"."""
    return f"{value.day} {value:%b %Y}"
