"""A matter's status change, told through the timeline: a numbered ``matter.status`` event in
the matter's threads (in the account's General thread if it has none), and a notification
for the people following them.

A privileged matter reaches its grantees only: its event goes into its privileged threads
alone (whose readers are granted), and nowhere if it has none; only the matter's grantees
are notified.

Declared by messaging for now (``apps.py``); it goes with matters when they get an app of
their own, its browser renderer (``messaging/static/messaging/js/matter_status.js``) too."""

from __future__ import annotations

from accounts import permissions
from accounts.models import Matter, MatterStatus, User
from accounts.selectors import person_json
from messaging import timeline
from messaging.models import Notification, Thread
from messaging.services import thread_ensure_general
from messaging.timeline import EventType, NoticeKind

MATTER_STATUS_NOTICE = NoticeKind(
    "matter_status", "Matter status", "changed the {matter} status in {thread}"
)
MATTER_STATUS = EventType(
    "matter.status", notifies=MATTER_STATUS_NOTICE, renderer="messaging/js/matter_status.js"
)


def _threads_for(matter: Matter) -> list[Thread]:
    threads = Thread.objects.filter(matter=matter).order_by("pk")
    if matter.privileged:
        return list(threads.filter(privileged=True))
    found = list(threads)
    return found or [thread_ensure_general(matter.account)]


def _status_json(status: str) -> dict:
    return {"value": status, "label": MatterStatus(status).label}


def matter_status_announce(*, actor: User, matter: Matter, previous: str) -> list[int]:
    """Post the event and the notifications inside the caller's transaction; each follower
    is notified once, however many of the matter's threads they read. Returns the seqs."""
    among = (
        set(permissions.privileged_grantees(matter).values_list("pk", flat=True))
        if matter.privileged
        else None
    )
    label = MatterStatus(matter.status).label
    detail = f"set {matter.title} to {label}"
    told: set[int] = set()
    seqs = []
    for thread in _threads_for(matter):
        seq = timeline.append(
            thread=thread,
            event_type=MATTER_STATUS,
            actor=actor,
            detail=detail,
            among=among,
            exclude=frozenset(told),
            payload={
                "by": person_json(actor),
                "matter": {
                    "id": matter.public_id,
                    "title": matter.title,
                    "privileged": matter.privileged,
                    "account": matter.account.public_id,
                },
                "status": _status_json(matter.status),
                "previous": _status_json(previous),
                "at": matter.updated_at.isoformat(),
            },
        )
        seqs.append(seq)
        told.update(
            Notification.objects.filter(thread=thread, seq=seq, message__isnull=True).values_list(
                "user_id", flat=True
            )
        )
    return seqs


def on_matter_status_changed(sender, matter, actor, previous, **kwargs) -> None:
    """Receiver of ``accounts.signals.matter_status_changed`` (inside its transaction)."""
    matter_status_announce(actor=actor, matter=matter, previous=previous)
