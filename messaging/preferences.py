"""Notification preferences: for each kind of thing (new messages in the threads one follows,
and every notification kind an app declares in ``messaging.registry``, so that kinds added
later appear by themselves), how a person is told of it:

- ``live``: in the portal only (the bell, live; unread counts for messages);
- ``email``: in the portal, and by e-mail within minutes (``ATRIUM_DIGEST_DELAY``) unless
  read by then: the default, as it always was;
- ``digest``: in the portal, and in one e-mail a day (``DailyDigest``, at
  ``DAILY_DIGEST_HOUR`` in the person's time zone) instead of the quick one;
- ``off``: not at all (messages still count as unread in their thread).

Only choices that differ from the default are stored. Delivery asks ``channels_of`` once per
notification batch and per digest run, never per person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from accounts.errors import Invalid
from accounts.models import User
from accounts.time_zones import zone_of
from messaging import registry
from messaging.models import Channel, DailyDigest, NotificationPreference

log = logging.getLogger(__name__)

MESSAGES = "messages"
MESSAGES_LABEL = "New messages in conversations you follow"
DEFAULT_CHANNEL = Channel.EMAIL
# The hour of the day, in the person's own time zone, the daily e-mail goes out.
DAILY_DIGEST_HOUR = 8


def kinds() -> list[tuple[str, str]]:
    """``(kind, label)`` of everything a person can choose for: messages first, then mentions,
    then every other declared notification kind."""
    declared = sorted(registry.notice_kinds(), key=lambda k: (k.value != "mention", k.label))
    return [(MESSAGES, MESSAGES_LABEL)] + [(k.value, k.label) for k in declared]


def preferences_for(user: User) -> dict[str, str]:
    """Every kind's channel for ``user`` (defaults filled in). One query."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind, DEFAULT_CHANNEL) for kind, _ in kinds()}


def channels_of(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each user's channel for ``kind`` (the default where they chose none). One query."""
    ids = list(user_ids)
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list(
            "user_id", "channel"
        )
    )
    return {pk: chosen.get(pk, DEFAULT_CHANNEL) for pk in ids}


def choices_of(user_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Every stored choice of these users, ``{user_id: {kind: channel}}`` (kinds left at
    the default are absent). One query."""
    answer: dict[int, dict[str, str]] = {}
    rows = NotificationPreference.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "kind", "channel"
    )
    for user_id, kind, channel in rows:
        answer.setdefault(user_id, {})[kind] = channel
    return answer


def channel_in(choices: Mapping[str, str], kind: str) -> str:
    return choices.get(kind, DEFAULT_CHANNEL)


def preferences_set(*, user: User, changes: object) -> dict[str, str]:
    """Change some of the person's choices (``{kind: channel}``); returns them all. Every
    entry is checked before anything is written: Invalid names each unknown kind
    (``unknown_kind``) and each unknown channel (``invalid``)."""
    if not isinstance(changes, Mapping):
        raise Invalid("Send an object of kinds and channels.", code="bad_json")
    known = {kind for kind, _ in kinds()}
    problems: dict[str, str] = {}
    for kind, channel in changes.items():
        if kind not in known:
            problems[str(kind)] = "unknown_kind"
        elif channel not in Channel.values:
            problems[str(kind)] = "invalid"
    if problems:
        raise Invalid(
            "Each kind is one of "
            + ", ".join(sorted(known))
            + "; each channel one of "
            + ", ".join(Channel.values)
            + ".",
            fields=problems,
        )
    with transaction.atomic():
        for kind, channel in changes.items():
            if channel == DEFAULT_CHANNEL:
                NotificationPreference.objects.filter(user=user, kind=kind).delete()
            else:
                NotificationPreference.objects.update_or_create(
                    user=user, kind=kind, defaults={"channel": channel}
                )
        current = preferences_for(user)
        _daily_digest_keep(user, wanted=Channel.DIGEST in current.values())
    return current


def next_daily_digest(user: User, after: dt.datetime) -> dt.datetime:
    """The next ``DAILY_DIGEST_HOUR`` o'clock in the person's zone after ``after``."""
    zone = zone_of(user) or timezone.get_default_timezone()
    local = after.astimezone(zone)
    due = local.replace(hour=DAILY_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if due <= local:
        due = (local + dt.timedelta(days=1)).replace(
            hour=DAILY_DIGEST_HOUR, minute=0, second=0, microsecond=0
        )
    return due.astimezone(dt.UTC)


def _daily_digest_keep(user: User, *, wanted: bool) -> None:
    if not wanted:
        DailyDigest.objects.filter(user=user).delete()
        return
    if DailyDigest.objects.filter(user=user).exists():
        return
    now = timezone.now()
    due = next_daily_digest(user, now)
    DailyDigest.objects.create(user=user, due_at=due, covered_until=now)

    def schedule() -> None:
        from messaging.tasks import daily_digest_schedule

        daily_digest_schedule(due)

    transaction.on_commit(schedule)
