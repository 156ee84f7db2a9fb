"""The timeline's entry point for thread events that are not messages, posted by other apps (a
document added to the vault, a matter's status changed). They are numbered, stored and
delivered like messages, so catch-up, read state and notifications work for them too.

Each event type is declared once, here, with what the portal does with it: whether history
pages show it, and which kind of notification its followers get (which also arms the thread's
e-mail digest). The browser's renderers are keyed by the same ``type`` strings
(``frontend/static/frontend/js/thread.js``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from messaging.models import NotificationKind, Thread
from messaging.sequence import append_event, next_seq

MAX_EVENT_TYPE_CHARS = 32


@dataclass(frozen=True)
class ThreadEventType:
    type: str  # as on the wire
    in_history: bool  # shown on history pages (and the thread page's first page)
    notifies: str | None = None  # the NotificationKind its followers get, if any


MESSAGE_NEW = ThreadEventType("message.new", in_history=True)
MESSAGE_EDITED = ThreadEventType("message.edited", in_history=False)
MESSAGE_DELETED = ThreadEventType("message.deleted", in_history=False)
DOCUMENT_ADDED = ThreadEventType(
    "document.added", in_history=True, notifies=NotificationKind.DOCUMENT
)
MATTER_STATUS = ThreadEventType(
    "matter.status", in_history=True, notifies=NotificationKind.MATTER_STATUS
)

EVENT_TYPES: dict[str, ThreadEventType] = {
    declared.type: declared
    for declared in (MESSAGE_NEW, MESSAGE_EDITED, MESSAGE_DELETED, DOCUMENT_ADDED, MATTER_STATUS)
}
MESSAGE_TYPES = frozenset({MESSAGE_NEW.type, MESSAGE_EDITED.type, MESSAGE_DELETED.type})


def history_event_types() -> tuple[str, ...]:
    return tuple(t.type for t in EVENT_TYPES.values() if t.in_history)


def thread_event_post(*, thread: Thread, event_type: str, payload: dict) -> int:
    """Append one event of a declared type (not a message: those are the services') to the
    thread and publish it after the commit; returns its seq. ``payload`` is added to the
    frame beside ``type``, ``thread`` and ``seq``. ValueError for an undeclared type or a
    payload that sets those keys."""
    declared = EVENT_TYPES.get(event_type)
    if declared is None or event_type in MESSAGE_TYPES or len(event_type) > MAX_EVENT_TYPE_CHARS:
        raise ValueError(f"{event_type!r} is not a declared thread event type")
    if {"type", "thread", "seq"} & payload.keys():
        raise ValueError("the payload may not set type, thread or seq")
    with transaction.atomic():
        # An event that notifies people is e-mailed to those who have not seen it, like a
        # message: it arms the thread's digest.
        seq = next_seq(thread, arm_digest=declared.notifies is not None)
        frame = {"type": event_type, "thread": thread.public_id, "seq": seq, **payload}
        append_event(thread, seq, frame, None)
    return seq
