"""The declarations behind the timeline (``messaging.timeline``, which re-exports them): what
event types a thread may hold and what kinds of notification exist, each declared once by
the app it belongs to, from its ``AppConfig.ready()``.

They live apart from ``messaging.timeline`` because both ends use them: the timeline appends
events and notifies through ``messaging.notifications``, and ``messaging.notifications``
phrases every notification through its declared kind. Nothing here imports either.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

MAX_EVENT_TYPE_CHARS = 32
MAX_NOTICE_KIND_CHARS = 32
# "app.thing": a dot keeps event types apart from the protocol's own frame types ("read",
# "history", "notification", …), which a client dispatches on the same "type" key.
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_NOTICE_KIND = re.compile(r"[a-z][a-z0-9_]*")
# A static path as given to ``{% static %}``: "vault/js/timeline.js".
_RENDERER = re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_.\-]+)*\.m?js")


@dataclass(frozen=True)
class NoticeKind:
    """A kind of notification, declared by the app that sends it. ``value`` is stored in
    ``Notification.kind``; ``phrase`` follows the actor's name and may name ``{thread}`` and
    ``{matter}`` (the firm's word for a matter, in lower case: "project")."""

    value: str  # e.g. "approval" (at most 32 characters)
    label: str  # "Approval"
    phrase: str  # "asked for your approval in {thread}"


@dataclass(frozen=True)
class EventType:
    """A type of numbered thread event. ``in_history``: kept in history pages and replayed on
    the thread page; ``notifies``: the kind of notification ``timeline.append`` creates (and
    that arms the thread's e-mail digest); ``renderer``: the static path of the browser
    module whose ``renderers`` object draws it (docs/protocol.md, "Timeline")."""

    type: str  # on the wire, e.g. "approval.requested" (at most 32 characters)
    in_history: bool = True
    notifies: NoticeKind | None = None
    renderer: str | None = None


_lock = threading.Lock()
_event_types: dict[str, EventType] = {}
_notice_kinds: dict[str, NoticeKind] = {}


def _check_notice_kind(kind: NoticeKind) -> None:
    if not isinstance(kind, NoticeKind):
        raise TypeError(f"{kind!r} is not a NoticeKind")
    if len(kind.value) > MAX_NOTICE_KIND_CHARS or not _NOTICE_KIND.fullmatch(kind.value):
        raise ValueError(
            f"notification kind {kind.value!r}: lower-case letters, digits and _, "
            f"at most {MAX_NOTICE_KIND_CHARS} characters"
        )
    try:
        kind.phrase.format(thread="", matter="")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"notification kind {kind.value!r}: its phrase may name {{thread}} and {{matter}} only"
        ) from error


def _check_event_type(declared: EventType) -> None:
    if len(declared.type) > MAX_EVENT_TYPE_CHARS or not _EVENT_TYPE.fullmatch(declared.type):
        raise ValueError(
            f"event type {declared.type!r}: dotted lower-case words like 'vault.thing', "
            f"at most {MAX_EVENT_TYPE_CHARS} characters"
        )
    if declared.renderer is not None and (
        ".." in declared.renderer or not _RENDERER.fullmatch(declared.renderer)
    ):
        raise ValueError(
            f"event type {declared.type!r}: renderer {declared.renderer!r} is not a static "
            "path to a .js module"
        )
    if declared.notifies is not None:
        _check_notice_kind(declared.notifies)


def _claim_kind(kind: NoticeKind, kinds: dict[str, NoticeKind]) -> None:
    known = kinds.get(kind.value)
    if known is not None and known != kind:
        raise ValueError(f"notification kind {kind.value!r} is already declared as {known!r}")
    kinds[kind.value] = kind


def register(*declarations: EventType | NoticeKind) -> None:
    """Declare event types and notification kinds (from an app's ``AppConfig.ready()``). An
    event type's notification kind is declared with it. Declaring again exactly what is
    declared changes nothing; another declaration under a taken name, a malformed or too
    long name, or anything but these dataclasses raises (ValueError, TypeError) and
    declares none of them."""
    with _lock:
        types, kinds = dict(_event_types), dict(_notice_kinds)
        for declared in declarations:
            if isinstance(declared, NoticeKind):
                _check_notice_kind(declared)
                _claim_kind(declared, kinds)
            elif isinstance(declared, EventType):
                _check_event_type(declared)
                known = types.get(declared.type)
                if known is not None and known != declared:
                    raise ValueError(
                        f"event type {declared.type!r} is already declared as {known!r}"
                    )
                if declared.notifies is not None:
                    _claim_kind(declared.notifies, kinds)
                types[declared.type] = declared
            else:
                raise TypeError(f"{declared!r} is neither an EventType nor a NoticeKind")
        _publish(types, kinds)


def unregister(*declarations: EventType | NoticeKind) -> None:
    """Forget declarations (for tests that declare their own types)."""
    with _lock:
        types, kinds = dict(_event_types), dict(_notice_kinds)
        for declared in declarations:
            if isinstance(declared, EventType):
                types.pop(declared.type, None)
            else:
                kinds.pop(declared.value, None)
        _publish(types, kinds)


def _publish(types: dict[str, EventType], kinds: dict[str, NoticeKind]) -> None:
    # New dicts, never changed in place: a reader iterating the old ones is undisturbed.
    global _event_types, _notice_kinds
    _event_types, _notice_kinds = types, kinds


def event_type(type: str) -> EventType:
    """The declared event type; ValueError if ``type`` is not declared."""
    declared = _event_types.get(type)
    if declared is None:
        raise ValueError(f"{type!r} is not a declared thread event type")
    return declared


def notice_kind(value: str) -> NoticeKind | None:
    """The declared notification kind, or None for one no installed app declares (stored by
    an app since removed, or by a newer release)."""
    return _notice_kinds.get(value)


def notice_kinds() -> tuple[NoticeKind, ...]:
    """Every declared notification kind, in declaration order."""
    return tuple(_notice_kinds.values())


def event_types() -> tuple[EventType, ...]:
    return tuple(_event_types.values())


def history_event_types() -> tuple[str, ...]:
    """The types history pages and the thread page show, in declaration order."""
    return tuple(t.type for t in _event_types.values() if t.in_history)


def renderer_paths() -> list[str]:
    """The static paths of the browser modules that draw the declared event types, each
    once, sorted (the order modules load in does not matter)."""
    return sorted({t.renderer for t in _event_types.values() if t.renderer})
