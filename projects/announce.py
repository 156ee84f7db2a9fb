"""Telling people about a change to a matter's plan: a ``Change`` row (what the status page and
the weekly digest read) and one numbered event in one thread (``projects.events``), pushed
live to that thread's readers after the commit.

The thread: the matter's oldest thread (a privileged matter: its oldest privileged thread,
and nowhere if it has none, so that the change reaches its grantees only; an ordinary matter:
its oldest ordinary thread, whose readers are the account's), else the account's General
thread. A task event notifies whose the task is: its assignee, or for a task of "the client"
the account's client people; for a privileged matter only those of them granted it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import Matter, Membership, User
from accounts.selectors import person_json
from messaging import timeline
from messaging.models import Thread
from messaging.services import thread_ensure_general
from projects.models import Change, Milestone, Task
from projects.plan_versions import plan_changed
from projects.progress import Counts
from projects.selectors.json import milestone_json, task_json
from projects.selectors.progress import matter_counts, milestone_counts

MAX_SUMMARY_CHARS = 300
MAX_DETAIL_CHARS = 200


def said(actor: User | None, phrase: str) -> str:
    """A change in words a client reads: "Dana Client ticked “Send the logo files”"."""
    return f"{actor.name} {phrase}" if actor is not None else phrase[:1].upper() + phrase[1:]


def quoted(title: str) -> str:
    return f"\u201c{title}\u201d"


def plan_thread(matter: Matter) -> Thread | None:
    """The one thread a change to the matter's plan goes into (see the module's docstring)."""
    threads = Thread.objects.filter(matter=matter, privileged=matter.privileged).order_by(
        "created_at", "pk"
    )
    thread = threads.first()
    if thread is not None or matter.privileged:
        return thread
    return thread_ensure_general(matter.account)


def _told(task: Task | None, matter: Matter) -> list[User] | None:
    """Whom a task event notifies (None for an event about no task)."""
    if task is None:
        return None
    if task.for_client:
        return list(
            User.objects.filter(
                is_active=True,
                pk__in=Membership.objects.filter(account_id=matter.account_id).values("user_id"),
            )
        )
    if task.assignee_id is not None:
        return [task.assignee]
    return []


def matter_json(matter: Matter, counts: Counts) -> dict:
    """The matter as each plan event carries it: enough to move a progress bar."""
    return {
        "id": matter.public_id,
        "title": matter.title,
        "account": matter.account.public_id,
        "privileged": matter.privileged,
        "progress": counts.progress,
        "tasks": counts.as_json(),
    }


def plan_announce(
    *,
    actor: User | None,
    matter: Matter,
    event_type: timeline.EventType,
    summary: str,
    task: Task | None = None,
    milestone: Milestone | None = None,
    detail: str | None = None,
) -> int | None:
    """Record ``summary`` (a whole sentence, ``said``) as a ``Change`` of the matter, move
    the account's plan version (``projects.plan_versions``) and append the event, inside the
    caller's transaction; returns the event's seq, or None when
    the matter has no thread to tell (a privileged matter without a privileged thread).
    ``detail`` is the notification's phrase, shown after the actor's name: by default the
    summary without that name."""
    summary = summary[:MAX_SUMMARY_CHARS]
    if detail is None:
        name = f"{actor.name} " if actor is not None else ""
        detail = summary.removeprefix(name) if name else summary
    today = timezone.localdate()
    with transaction.atomic():
        # What the status pages keep of the account is of the plan before this change.
        plan_changed(account_ids=[matter.account_id])
        # A removed task or milestone is told about (from the instance, as it was) but no
        # longer referenced.
        Change.objects.create(
            matter=matter,
            actor=actor,
            kind=event_type.type,
            summary=summary,
            task=task if task is not None and task.pk is not None else None,
            milestone=milestone if milestone is not None and milestone.pk is not None else None,
        )
        thread = plan_thread(matter)
        if thread is None:
            return None
        counts = matter_counts([matter.pk], today=today).get(matter.pk, Counts())
        payload: dict = {
            "by": person_json(actor),
            "summary": summary,
            "at": timezone.now().isoformat(),
            "matter": matter_json(matter, counts),
        }
        if task is not None:
            payload["task"] = task_json(task, today=today)
        if milestone is not None:
            payload["milestone"] = milestone_json(
                milestone,
                milestone_counts([milestone.pk], today=today).get(milestone.pk, Counts()),
                today=today,
            )
        notify = _told(task, matter) if event_type.notifies is not None else None
        among = (
            set(permissions.privileged_grantees(matter).values_list("pk", flat=True))
            if matter.privileged
            else None
        )
        return timeline.append(
            thread=thread,
            event_type=event_type,
            payload=payload,
            actor=actor,
            notify=notify,
            among=among,
            detail=detail[:MAX_DETAIL_CHARS],
        )
