"""The thread timeline: how any app puts a numbered event into a thread.

A thread is a numbered sequence of events; a message is one kind, and every app may add its
own. An app declares its event types and notification kinds once, from its
``AppConfig.ready()``::

    DOCUMENT = NoticeKind("document", "Document", "added a document in {thread}")
    DOCUMENT_ADDED = EventType("document.added", notifies=DOCUMENT, renderer="vault/js/timeline.js")
    timeline.register(DOCUMENT, DOCUMENT_ADDED)

then appends inside its own transaction::

    seq = timeline.append(thread=thread, event_type=DOCUMENT_ADDED, payload={...}, actor=user)

``append`` assigns the next ``seq`` (``messaging.sequence``), stores the frame
``{"type", "thread", "seq", **payload}`` and publishes it after the commit, so catch-up,
history pages, read state, notifications and e-mail digests work for every app's events
alike. The browser draws each type with the ``renderers`` of the static module its
declaration names (docs/protocol.md, "Timeline"). Messaging owns no other app's types:
nothing here lists them.

Messages (``message.new``, ``message.edited``, ``message.deleted``) are declared here too, for
history and the browser, but are written by ``messaging.services`` only, never through
``append``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.db import transaction

from accounts.models import User
from messaging import notifications
from messaging.models import Thread
from messaging.registry import (
    MAX_EVENT_TYPE_CHARS,
    MAX_NOTICE_KIND_CHARS,
    EventType,
    NoticeKind,
    event_type,
    event_types,
    history_event_types,
    notice_kind,
    register,
    renderer_paths,
    unregister,
)
from messaging.sequence import append_event, next_seq

__all__ = [
    "MAX_EVENT_TYPE_CHARS",
    "MAX_NOTICE_KIND_CHARS",
    "MESSAGE_DELETED",
    "MESSAGE_EDITED",
    "MESSAGE_NEW",
    "RESERVED_KEYS",
    "EventType",
    "NoticeKind",
    "append",
    "event_type",
    "event_types",
    "history_event_types",
    "notice_kind",
    "register",
    "renderer_paths",
    "unregister",
]

# Drawn by thread.js itself (they are edited and deleted in place).
MESSAGE_NEW = EventType("message.new", in_history=True)
MESSAGE_EDITED = EventType("message.edited", in_history=False)
MESSAGE_DELETED = EventType("message.deleted", in_history=False)
_MESSAGE_TYPES = frozenset({MESSAGE_NEW.type, MESSAGE_EDITED.type, MESSAGE_DELETED.type})

# Every frame's own keys, which a payload may not set.
RESERVED_KEYS = frozenset({"type", "thread", "seq"})


def append(
    *,
    thread: Thread,
    event_type: EventType,
    payload: dict,
    actor: User | None = None,
    notify: Iterable[User] | None = None,
    among: set[int] | None = None,
    detail: str = "",
    exclude: Collection[int] = frozenset(),
) -> int:
    """Append one event of a declared type to the thread, inside the caller's transaction
    (in a savepoint of its own), and publish it after the commit; returns its ``seq``.

    When the type ``notifies``, its notification (saying ``detail``, at most 200 characters
    kept) goes to ``notify`` if given, those of them who may read the thread, else to the
    people following the thread (who may read it and have not muted it); ``among`` narrows
    either to those user pks (the people who may see what the event is about, for a
    privileged item), ``exclude`` leaves out user pks already told of the same thing (one
    event in several threads), and the actor is never notified. Such an event also arms the
    thread's e-mail digest, like a message.

    ValueError, and nothing written, for: a type that is not declared (or not as declared),
    a message type, a payload setting ``type``, ``thread`` or ``seq``, or ``notify`` for a
    type that notifies nobody."""
    if not isinstance(event_type, EventType):
        raise TypeError(f"{event_type!r} is not an EventType")
    if event_type.type in _MESSAGE_TYPES:
        raise ValueError(f"{event_type.type!r} events are written by the messaging services")
    declared = _declared(event_type)
    if not isinstance(payload, dict):
        raise TypeError("the payload must be a dict")
    reserved = RESERVED_KEYS & payload.keys()
    if reserved:
        raise ValueError(f"the payload may not set {', '.join(sorted(reserved))}")
    if declared.notifies is None and notify is not None:
        raise ValueError(f"{declared.type!r} events notify nobody")
    with transaction.atomic():
        seq = next_seq(thread, arm_digest=declared.notifies is not None)
        frame = {"type": declared.type, "thread": thread.public_id, "seq": seq, **payload}
        append_event(thread, seq, frame, None)
        if declared.notifies is not None:
            told = {
                "thread": thread,
                "seq": seq,
                "actor": actor,
                "kind": declared.notifies.value,
                "detail": detail,
                "among": among,
                "exclude": exclude,
            }
            if notify is None:
                notifications.followers_notify(**told)
            else:
                notifications.people_notify(people=notify, **told)
    return seq


def _declared(given: EventType) -> EventType:
    declared = event_type(given.type)
    if declared != given:
        raise ValueError(f"{given!r} is not declared as such: {declared!r} is")
    return declared
