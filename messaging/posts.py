"""Thread events that are not messages, posted by other apps (a document added to the vault
is announced in a thread). They are numbered, stored and delivered like messages."""

from __future__ import annotations

from django.db import transaction

from messaging.models import Thread
from messaging.services import _append_event, _next_seq

MAX_EVENT_TYPE_CHARS = 32


def thread_event_post(*, thread: Thread, event_type: str, payload: dict) -> int:
    """Append one event to the thread and publish it after the commit; returns its seq.
    ``payload`` is added to the frame beside ``type``, ``thread`` and ``seq``."""
    if not event_type or len(event_type) > MAX_EVENT_TYPE_CHARS:
        raise ValueError("an event type is 1 to 32 characters")
    if {"type", "thread", "seq"} & payload.keys():
        raise ValueError("the payload may not set type, thread or seq")
    with transaction.atomic():
        seq = _next_seq(thread, arm_digest=False)
        frame = {"type": event_type, "thread": thread.public_id, "seq": seq, **payload}
        _append_event(thread, seq, frame, None)
    return seq
