"""A matter's plan as a whole: opening a matter with one (from a checklist template or
empty), applying a template, and changing the plan's title, description, dates and owner.

The account team (and firm admins) may; someone who sees the account but may not gets
``Forbidden``, anyone else ``NotFound``. Dates are calendar days: a template's offsets are
added to the start date as days, so they cross month ends and leap days as the calendar
does, whatever the time zone; the default start is today in the actor's zone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts import permissions, signals
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, Matter, User
from accounts.permissions import Action
from accounts.services.matters import matter_create, matter_grant
from projects import events
from projects.announce import plan_announce, quoted, said
from projects.models import ChecklistTemplate, Milestone, Task, TaskKind
from projects.services.lookups import (
    Checks,
    checked_date,
    checked_fields,
    checked_text,
    checked_title,
    day_text,
    matter_change_check,
    staff_on_team,
    template_for,
)
from vault.models import Folder
from vault.services import folder_create

PLAN_FIELDS = frozenset({"title", "description", "start", "target", "owner"})


def _checked_template(actor: User, value: object) -> ChecklistTemplate | None:
    if value is None or value == "":
        return None
    if isinstance(value, ChecklistTemplate):
        return value
    try:
        return template_for(actor, value)
    except NotFound:
        raise Invalid("No such checklist template.", fields={"template": "not_found"}) from None


def _checked_dates(
    checks: Checks, start: dt.date | None, target: dt.date | None, *, moved: str = "target"
) -> None:
    """The target is not before the start; the error names the date that was ``moved``."""
    if start is not None and target is not None and target < start:
        code = "before_start" if moved == "target" else "after_target"
        checks.fail(Invalid("The target date is before the start.", fields={moved: code}))


def _owner_for_account(account: ClientAccount, value: object) -> User | None:
    """Someone serving the account, for a matter not made yet."""
    probe = Matter(account=account, privileged=False)
    return staff_on_team(probe, value)


def matter_plan_create(
    *,
    actor: User,
    account: ClientAccount,
    title: object,
    template: object = None,
    start: object = None,
    description: object = "",
    privileged: object = False,
    owner: object = None,
    target: object = None,
) -> Matter:
    """Open a matter with its plan (the account team): from ``template`` ("tpl_…" or a
    template) starting on ``start`` (default: today, when a template is given), or empty.
    Invalid names every field at fault: ``title``, ``template`` (``not_found``), ``start``,
    ``target`` (``before_start``), ``owner`` (someone serving the account), ``description``,
    ``privileged``."""
    if not permissions.can_on_account(actor, Action.CHANGE, account):
        if permissions.can_on_account(actor, Action.VIEW, account):
            raise Forbidden("Only the account team opens matters.")
        raise NotFound
    checks = Checks()
    title = checks(checked_title, title)
    description = checks(checked_text, description, "description")
    template = checks(_checked_template, actor, template)
    start = checks(checked_date, start, "start")
    target = checks(checked_date, target, "target")
    owner = checks(_owner_for_account, account, owner)
    if not isinstance(privileged, bool):
        checks.fail(Invalid("privileged is true or false.", fields={"privileged": "invalid"}))
    if template is not None and start is None:
        start = timezone.localdate()
    _checked_dates(checks, start, target)
    checks.raise_any()
    with transaction.atomic():
        matter = matter_create(
            actor=actor,
            account=account,
            title=title,
            description=description,
            privileged=privileged,
        )
        matter.start_date, matter.target_date, matter.owner = start, target, owner
        matter.save(update_fields=["start_date", "target_date", "owner", "updated_at"])
        if privileged and owner is not None and owner != actor:
            # Whoever answers for a privileged matter must be able to see it.
            matter_grant(actor=actor, matter=matter, user=owner)
        if template is not None:
            _instantiate(actor=actor, matter=matter, template=template, start=start)
        else:
            plan_announce(
                actor=actor,
                matter=matter,
                event_type=events.PLAN_CHANGED,
                summary=said(actor, f"opened {quoted(matter.title)}"),
            )
    return matter


def _upload_folder(actor: User, account: ClientAccount, name: str, made: dict) -> Folder:
    """The account's top-level folder of this name, made (through the vault) if missing."""
    if name not in made:
        folder = Folder.objects.filter(account=account, parent=None, name=name).first()
        made[name] = folder or folder_create(actor=actor, account=account, name=name)
    return made[name]


def _due(start: dt.date, offset: int | None) -> dt.date | None:
    return None if offset is None else start + dt.timedelta(days=offset)


def template_instantiate(
    *, actor: User, matter: Matter, template: ChecklistTemplate | str, start: dt.date | str
) -> None:
    """Add the template's milestones and tasks to the matter's plan, due ``start`` plus their
    offsets in days: tasks for the client are the client's, the others the matter's owner's
    (the actor's if it has none); upload tasks wait in the account's top-level vault folder
    of the template's folder name (made if missing). Sets the matter's start to ``start``
    and, when unset, its target to the latest due date. One ``matter.plan`` event for all of
    it. Invalid (``start``: ``after_target``) when the matter's target is before ``start``."""
    matter_change_check(actor, matter)
    template = _checked_template(actor, template)
    if template is None:
        raise Invalid("Name a checklist template.", fields={"template": "required"})
    start = checked_date(start, "start", required=True)
    if matter.target_date is not None and matter.target_date < start:
        raise Invalid(
            "The matter's target date is before that start.", fields={"start": "after_target"}
        )
    with transaction.atomic():
        _instantiate(actor=actor, matter=matter, template=template, start=start)


def _instantiate(
    *, actor: User, matter: Matter, template: ChecklistTemplate, start: dt.date
) -> None:
    Matter.objects.select_for_update().filter(pk=matter.pk).values_list("pk", flat=True).get()
    template_milestones = sorted(template.milestones.all(), key=lambda row: row.position)
    template_tasks = sorted(template.tasks.all(), key=lambda row: row.position)
    first_milestone = Milestone.objects.filter(matter=matter).count()
    first_task = Task.objects.filter(matter=matter).count()
    milestones = Milestone.objects.bulk_create(
        [
            Milestone(
                matter=matter,
                title=row.title,
                due=_due(start, row.offset_days),
                position=first_milestone + number,
                created_by=actor,
            )
            for number, row in enumerate(template_milestones)
        ]
    )
    # bulk_create does not hand back primary keys on every database: read them again.
    saved = dict(
        Milestone.objects.filter(matter=matter, position__gte=first_milestone).values_list(
            "position", "pk"
        )
    )
    by_template = {
        row.pk: saved[first_milestone + number] for number, row in enumerate(template_milestones)
    }
    owner = matter.owner or actor
    folders: dict[str, Folder] = {}
    Task.objects.bulk_create(
        [
            Task(
                matter=matter,
                milestone_id=by_template.get(row.milestone_id),
                title=row.title,
                kind=row.kind,
                for_client=row.for_client,
                assignee=None if row.for_client else owner,
                due=_due(start, row.offset_days),
                folder=(
                    _upload_folder(actor, matter.account, row.folder_name, folders)
                    if row.kind == TaskKind.UPLOAD
                    else None
                ),
                position=first_task + number,
                created_by=actor,
            )
            for number, row in enumerate(template_tasks)
        ]
    )
    dues = [m.due for m in milestones] + [
        _due(start, row.offset_days) for row in template_tasks if row.offset_days is not None
    ]
    matter.start_date = start
    if matter.target_date is None and dues:
        matter.target_date = max(dues)
    matter.save(update_fields=["start_date", "target_date", "updated_at"])
    plan_announce(
        actor=actor,
        matter=matter,
        event_type=events.PLAN_CHANGED,
        summary=said(
            actor,
            f"started {quoted(matter.title)} from {quoted(template.name)} on {day_text(start)}: "
            f"{len(template_milestones)} milestones, {len(template_tasks)} tasks",
        ),
    )


def _plan_phrase(matter: Matter, before: dict) -> str:
    name = quoted(matter.title)
    if len(before) == 1:
        (field,) = before
        if field == "title":
            return f"renamed {quoted(before['title'])} to {name}"
        if field in ("start", "target"):
            value = matter.start_date if field == "start" else matter.target_date
            word = "start" if field == "start" else "target date"
            return f"set the {word} of {name} to {day_text(value) if value else 'none'}"
        if field == "owner":
            who = matter.owner.name if matter.owner is not None else "nobody"
            return f"made {who} the owner of {name}"
    words = {
        "title": "title",
        "description": "description",
        "start": "start",
        "target": "target date",
        "owner": "owner",
    }
    return f"changed the plan of {name} ({', '.join(words[key] for key in before)})"


def matter_plan_change(*, actor: User, matter: Matter, fields: object) -> Matter:
    """Change the plan's ``title``, ``description``, ``start``, ``target`` (not before the
    start: ``before_start``) or ``owner`` ("usr_…" of the account team, or null)."""
    matter_change_check(actor, matter)
    fields = checked_fields(fields, PLAN_FIELDS)
    checks = Checks()
    wanted: dict = {}
    if "title" in fields:
        wanted["title"] = checks(checked_title, fields["title"])
    if "description" in fields:
        wanted["description"] = checks(checked_text, fields["description"], "description")
    if "start" in fields:
        wanted["start_date"] = checks(checked_date, fields["start"], "start")
    if "target" in fields:
        wanted["target_date"] = checks(checked_date, fields["target"], "target")
    if "owner" in fields:
        wanted["owner"] = checks(staff_on_team, matter, fields["owner"])
    checks.raise_any()
    with transaction.atomic():
        Matter.objects.select_for_update().filter(pk=matter.pk).values_list("pk", flat=True).get()
        matter.refresh_from_db(
            fields=["title", "description", "start_date", "target_date", "owner"]
        )
        start = wanted.get("start_date", matter.start_date)
        target = wanted.get("target_date", matter.target_date)
        moved = "target" if "target_date" in wanted else "start"
        _checked_dates(checks, start, target, moved=moved)
        checks.raise_any()
        names = {"start_date": "start", "target_date": "target"}
        before = {}
        for name, value in wanted.items():
            if getattr(matter, name) != value:
                before[names.get(name, name)] = getattr(matter, name)
                setattr(matter, name, value)
        if not before:
            return matter
        matter.save(
            update_fields=[
                "title",
                "description",
                "start_date",
                "target_date",
                "owner",
                "updated_at",
            ]
        )
        if "title" in before:
            signals.send_on_commit(signals.matter_changed, matter_pk=matter.pk)
        plan_announce(
            actor=actor,
            matter=matter,
            event_type=events.PLAN_CHANGED,
            summary=said(actor, _plan_phrase(matter, before)),
        )
    return matter
