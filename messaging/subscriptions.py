"""E-mails a person takes as a whole, on or off (the weekly status digest), beside the
notification kinds of ``messaging.preferences`` whose every event can be delivered four ways.

The app that sends such an e-mail declares it here from its ``AppConfig.ready()`` with who is
offered it and how the choice is read and stored, so that the notifications page and
``/api/v1/me/notifications`` offer it without knowing that app (messaging sits below it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import transaction

from accounts.errors import Invalid
from accounts.models import User
from messaging import preferences


@dataclass(frozen=True)
class Subscription:
    """``name`` is its key in the API ("status_digest"); ``offered(user)`` says whether the
    person may choose it at all; ``subscribed(user)`` reads the choice (the default filled
    in); ``subscribe(user=…, on=…)`` stores it inside the caller's transaction."""

    name: str
    label: str
    description: str
    offered: Callable[[User], bool]
    subscribed: Callable[[User], bool]
    subscribe: Callable[..., None]


# Keys of the notifications answer a subscription's name must not shadow.
_RESERVED = frozenset({"kinds", "channels"})
_lock = threading.Lock()
_declared: dict[str, Subscription] = {}


def register(subscription: Subscription) -> None:
    """Declare an e-mail one subscribes to. Declaring the same one again changes nothing;
    another under a taken name, or a name that is also a notification kind, raises
    ValueError."""
    if not isinstance(subscription, Subscription):
        raise TypeError(f"{subscription!r} is not a Subscription")
    with _lock:
        known = _declared.get(subscription.name)
        if known is not None and known != subscription:
            raise ValueError(f"subscription {subscription.name!r} is already declared")
        if subscription.name in dict(preferences.kinds()) or subscription.name in _RESERVED:
            raise ValueError(f"{subscription.name!r} names a notification kind or a key taken")
        _declared[subscription.name] = subscription


def offered_to(user: User) -> list[Subscription]:
    """The subscriptions ``user`` may choose, in the order they were declared."""
    return [s for s in list(_declared.values()) if s.offered(user)]


def subscriptions_for(user: User) -> dict[str, bool]:
    return {s.name: s.subscribed(user) for s in offered_to(user)}


def notifications_set(*, user: User, changes: object) -> tuple[dict[str, str], dict[str, bool]]:
    """Change some notification kinds' channels (``{kind: channel}``) and some subscriptions
    (``{name: true|false}``) at once; returns every kind's channel and every subscription.
    Everything is checked before anything is kept: Invalid names each unknown kind
    (``unknown_kind``), unknown channel and non-boolean subscription value (``invalid``)."""
    if not isinstance(changes, Mapping):
        raise Invalid("Send an object of kinds and channels.", code="bad_json")
    offered = {s.name: s for s in offered_to(user)}
    toggles = {name: value for name, value in changes.items() if name in offered}
    kinds = {kind: value for kind, value in changes.items() if kind not in offered}
    problems = {name: "invalid" for name, value in toggles.items() if not isinstance(value, bool)}
    with transaction.atomic():
        try:
            chosen = preferences.preferences_set(user=user, changes=kinds)
        except Invalid as error:
            raise Invalid(error.message, fields={**error.fields, **problems}) from None
        if problems:
            # Raising inside the block undoes the channels written just above.
            raise Invalid(
                " ".join(f"{name} is true or false." for name in problems), fields=problems
            )
        for name, value in toggles.items():
            offered[name].subscribe(user=user, on=value)
    return chosen, subscriptions_for(user)
