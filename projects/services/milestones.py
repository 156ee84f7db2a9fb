"""Milestones of a matter's plan: adding, changing (title, due date, place in the order) and
removing them. The account team (and firm admins) may; everyone else who sees the matter
gets ``Forbidden``, anyone else ``NotFound``. Each write is announced
(``projects.announce``); a change that changes nothing is not."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Matter, User
from projects import events
from projects.announce import plan_announce, quoted, said
from projects.models import Milestone
from projects.services.lookups import (
    Checks,
    checked_date,
    checked_fields,
    checked_position,
    checked_title,
    day_text,
    matter_change_check,
)

MILESTONE_FIELDS = frozenset({"title", "due", "position"})


def _locked_plan(matter: Matter) -> None:
    """Take the matter's row lock: changes to one plan's order are made one at a time."""
    Matter.objects.select_for_update().filter(pk=matter.pk).values_list("pk", flat=True).get()


def _renumber(matter: Matter, moving: Milestone | None, position: int | None) -> int | None:
    """Number the matter's milestones 0, 1, 2… in their order, with ``moving`` (if any) put at
    ``position`` (clamped to the ends); returns where ``moving`` landed."""
    others = list(
        Milestone.objects.filter(matter=matter)
        .exclude(pk=moving.pk if moving is not None else None)
        .order_by("position", "pk")
    )
    landed = None
    if moving is not None:
        landed = len(others) if position is None else min(position, len(others))
        others.insert(landed, moving)
    changed = []
    for number, row in enumerate(others):
        if row.position != number:
            row.position = number
            if row is not moving:
                changed.append(row)
    Milestone.objects.bulk_update(changed, ["position"])
    return landed


def milestone_add(
    *, actor: User, matter: Matter, title: object, due: object, position: object = None
) -> Milestone:
    """A milestone due on ``due`` ("YYYY-MM-DD"), at ``position`` in the plan's order (the end
    by default). Invalid (``title``, ``due``, ``position``) lists every field at fault."""
    matter_change_check(actor, matter)
    checks = Checks()
    title = checks(checked_title, title)
    due = checks(checked_date, due, "due", required=True)
    position = checks(checked_position, position)
    checks.raise_any()
    with transaction.atomic():
        _locked_plan(matter)
        milestone = Milestone(matter=matter, title=title, due=due, position=0, created_by=actor)
        _renumber(matter, milestone, position)
        milestone.save()
        plan_announce(
            actor=actor,
            matter=matter,
            event_type=events.MILESTONE_ADDED,
            summary=said(actor, f"added the milestone {quoted(title)}, due {day_text(due)}"),
            milestone=milestone,
        )
    return milestone


def _change_phrase(milestone: Milestone, before: dict) -> str:
    name = quoted(milestone.title)
    if before.get("title") is not None and len(before) == 1:
        return f"renamed the milestone {quoted(before['title'])} to {name}"
    if before.get("due") is not None and len(before) == 1:
        return f"moved the milestone {name} to {day_text(milestone.due)}"
    if "position" in before and len(before) == 1:
        way = "up" if milestone.position < before["position"] else "down"
        return f"moved the milestone {name} {way} the plan"
    words = {"title": "title", "due": "due date", "position": "place"}
    return f"changed the milestone {name} ({', '.join(words[key] for key in before)})"


def milestone_change(*, actor: User, milestone: Milestone, fields: object) -> Milestone:
    """Change ``title``, ``due`` or ``position`` (moving renumbers the others, so the order
    stays 0, 1, 2…). Unknown names: Invalid with ``fields={name: "unknown"}``."""
    matter = milestone.matter
    matter_change_check(actor, matter)
    fields = checked_fields(fields, MILESTONE_FIELDS)
    checks = Checks()
    wanted = {}
    if "title" in fields:
        wanted["title"] = checks(checked_title, fields["title"])
    if "due" in fields:
        wanted["due"] = checks(checked_date, fields["due"], "due", required=True)
    if "position" in fields:
        wanted["position"] = checks(checked_position, fields["position"])
    checks.raise_any()
    with transaction.atomic():
        _locked_plan(matter)
        milestone.refresh_from_db(fields=["title", "due", "position"])
        before = {}
        for name in ("title", "due"):
            if name in wanted and wanted[name] != getattr(milestone, name):
                before[name] = getattr(milestone, name)
                setattr(milestone, name, wanted[name])
        if wanted.get("position") is not None:
            was = milestone.position
            landed = _renumber(matter, milestone, wanted["position"])
            if landed != was:
                before["position"] = was
        if not before:
            return milestone
        milestone.updated_at = timezone.now()
        milestone.save(update_fields=["title", "due", "position", "updated_at"])
        plan_announce(
            actor=actor,
            matter=matter,
            event_type=events.MILESTONE_CHANGED,
            summary=said(actor, _change_phrase(milestone, before)),
            milestone=milestone,
        )
    return milestone


def milestone_move(*, actor: User, milestone: Milestone, step: int) -> Milestone:
    """Move a milestone one place earlier (``step`` -1) or later (+1) in the plan's order;
    at that end already, nothing changes and nothing is announced. ValueError for another
    step."""
    if step not in (-1, 1):
        raise ValueError(f"a milestone moves one place at a time, not {step!r}")
    matter_change_check(actor, milestone.matter)
    order = list(
        Milestone.objects.filter(matter_id=milestone.matter_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    target = order.index(milestone.pk) + step
    if not 0 <= target < len(order):
        return milestone
    return milestone_change(actor=actor, milestone=milestone, fields={"position": target})


def milestone_delete(*, actor: User, milestone: Milestone) -> None:
    """Remove a milestone; its tasks stay in the plan, under no milestone."""
    matter = milestone.matter
    matter_change_check(actor, matter)
    with transaction.atomic():
        _locked_plan(matter)
        milestone.delete()
        _renumber(matter, None, None)
        plan_announce(
            actor=actor,
            matter=matter,
            event_type=events.MILESTONE_CHANGED,
            summary=said(actor, f"removed the milestone {quoted(milestone.title)}"),
            milestone=milestone,
        )
