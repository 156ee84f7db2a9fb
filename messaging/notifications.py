"""Notifications: @mentions stored per person and pushed live, and e-mail digests for
people who have not read what was said.

New messages are not copied into a row per recipient (a thread of a thousand people would
cost a thousand writes per message): unread counts come from read state. A digest goes out
``ATRIUM_DIGEST_DELAY`` after the first unread message or update, to everyone following the
thread (``thread_followers``) who still has not read it, batched into one e-mail per person,
and never with the content of a privileged thread.

Every notification says what happened in the words of its kind, declared by the app that
sends it (``messaging.timeline.NoticeKind``): in the ``notification`` frame (``summary``), in
the bell and in the digest. Notifications about thread events other than messages are made
by ``messaging.timeline.append``.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts import permissions
from accounts.errors import Invalid
from accounts.mail import send_branded_mail
from accounts.models import User
from accounts.selectors import person_json
from accounts.services.firm import Vocabulary, vocabulary
from messaging import events, preferences, registry
from messaging.models import (
    Channel,
    DailyDigest,
    DigestState,
    Message,
    Notification,
    ReadState,
    Thread,
    ThreadMute,
)
from messaging.registry import NoticeKind

log = logging.getLogger(__name__)

EXCERPT_CHARS = 160
DIGEST_MESSAGES_SHOWN = 3


# Declared by messaging (apps.py): "Sam Staff mentioned you in General".
MENTION = NoticeKind("mention", "Mention", "mentioned you in {thread}")
# What a kind no installed app declares says (one stored by an app since removed, or by a
# newer release).
UNKNOWN_KIND_PHRASE = "posted in {thread}"


def notification_summary(
    *, kind: str, actor: User | None, thread_title: str, words: Vocabulary | None = None
) -> str:
    """One line saying what happened, in the words of its declared kind and of the firm
    (``words``, read when the phrase names ``{matter}`` and none are given)."""
    declared = registry.notice_kind(kind)
    phrase = declared.phrase if declared else UNKNOWN_KIND_PHRASE
    if "{matter}" in phrase:
        words = words if words is not None else vocabulary()
        phrase = phrase.format(thread=thread_title, matter=words.matter_lower)
    else:
        phrase = phrase.format(thread=thread_title)
    return f"{actor.name if actor else 'Someone'} {phrase}"


def thread_people(thread: Thread) -> list[User]:
    """Everyone who may read the thread now: its account's members and team and the firm
    admins, narrowed to the explicit grantees for a privileged thread."""
    return list(_thread_readers(thread))


def _thread_readers(thread: Thread) -> QuerySet[User]:
    people = permissions.people_seeing_account(thread.account_id)
    if thread.privileged:
        people = people.filter(pk__in=permissions.privileged_grantees(thread).values("pk"))
    return people


def thread_followers(thread: Thread) -> list[User]:
    """The people a thread's digests go to: its account's members and team, and anyone
    else who may read it and has taken part (read or written in it); for a privileged thread,
    its grantees, as for everything else about it. A firm admin who never opened an
    account's threads is not e-mailed about them. Muting is not applied here."""
    people = permissions.people_seeing_account(thread.account_id)
    if thread.privileged:
        return list(people.filter(pk__in=permissions.privileged_grantees(thread).values("pk")))
    following = User.objects.filter(
        Q(memberships__account_id=thread.account_id)
        | Q(team_assignments__account_id=thread.account_id)
        | Q(read_states__thread=thread)
    )
    return list(people.filter(pk__in=following.values("pk")))


def _excerpt(body: str) -> str:
    body = " ".join(body.split())
    return body if len(body) <= EXCERPT_CHARS else body[: EXCERPT_CHARS - 1] + "…"


def notification_json(notification: Notification, *, words: Vocabulary | None = None) -> dict:
    message = notification.message
    actor = notification.actor
    return {
        "id": notification.public_id,
        "kind": notification.kind,
        "summary": notification_summary(
            kind=notification.kind,
            actor=actor,
            thread_title=notification.thread.title,
            words=words,
        ),
        "thread": notification.thread.public_id,
        "thread_title": notification.thread.title,
        "message": message.public_id if message else None,
        "seq": message.seq if message else notification.seq,
        "excerpt": _excerpt(message.body)
        if message and not message.deleted_at
        else notification.detail,
        "actor": person_json(actor) if actor else None,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def mentions_notify(*, thread: Thread, message: Message, actor: User) -> list[Notification]:
    """Store and push a notification for each person the message @mentions by name, among
    the people who may read the thread (naming someone outside it notifies nobody)."""
    if "@" not in message.body:
        return []
    text = message.body.casefold()
    mentioned = [
        person
        for person in thread_people(thread)
        if person.pk != actor.pk
        and person.name
        and re.search(r"(?<!\w)@" + re.escape(person.name.casefold()) + r"(?!\w)", text)
    ]
    channels = preferences.channels_of([p.pk for p in mentioned], MENTION.value)
    mentioned = [p for p in mentioned if channels[p.pk] != Channel.OFF]
    created = Notification.objects.bulk_create(
        [
            Notification(
                user=person,
                kind=MENTION.value,
                thread=thread,
                message=message,
                actor=actor,
            )
            for person in mentioned
        ]
    )
    # The firm's words, read once for the batch and only if a summary names them.
    words = SimpleLazyObject(vocabulary)
    for notification in created:
        events.publish_user_notice_on_commit(
            user_id=notification.user_id,
            notice={
                "kind": "notification",
                "notification": notification_json(notification, words=words),
            },
        )
    return created


def followers_notify(
    *,
    thread: Thread,
    seq: int,
    actor: User | None,
    kind: str,
    detail: str,
    among: set[int] | None = None,
    exclude: Collection[int] = frozenset(),
) -> list[Notification]:
    """Store and push a notification about a thread event for everyone who follows the
    thread (may read it and has not muted it), except the actor; ``among`` narrows it to
    those user ids (the people who may see what the event is about), and nobody in
    ``exclude`` (already told of the same thing) is notified again."""
    muted = set(ThreadMute.objects.filter(thread=thread).values_list("user_id", flat=True))
    people = [person for person in thread_people(thread) if person.pk not in muted]
    return _notify(
        people,
        thread=thread,
        seq=seq,
        actor=actor,
        kind=kind,
        detail=detail,
        among=among,
        exclude=exclude,
    )


def people_notify(
    *,
    people: Iterable[User],
    thread: Thread,
    seq: int,
    actor: User | None,
    kind: str,
    detail: str,
    among: set[int] | None = None,
    exclude: Collection[int] = frozenset(),
) -> list[Notification]:
    """Like ``followers_notify``, to the named people instead of the followers: those of them
    who may read the thread, whether they muted it or not (it is addressed to them, like an
    @mention)."""
    named = {person.pk for person in people}
    readers = list(_thread_readers(thread).filter(pk__in=named)) if named else []
    return _notify(
        readers,
        thread=thread,
        seq=seq,
        actor=actor,
        kind=kind,
        detail=detail,
        among=among,
        exclude=exclude,
    )


def _notify(
    people: list[User],
    *,
    thread: Thread,
    seq: int,
    actor: User | None,
    kind: str,
    detail: str,
    among: set[int] | None,
    exclude: Collection[int],
) -> list[Notification]:
    told = [
        person
        for person in people
        if (actor is None or person.pk != actor.pk)
        and person.pk not in exclude
        and (among is None or person.pk in among)
    ]
    channels = preferences.channels_of([p.pk for p in told], kind)
    told = [p for p in told if channels[p.pk] != Channel.OFF]
    created = Notification.objects.bulk_create(
        [
            Notification(
                user=person, kind=kind, thread=thread, seq=seq, actor=actor, detail=detail[:200]
            )
            for person in told
        ]
    )
    # The firm's words, read once for the batch and only if a summary names them.
    words = SimpleLazyObject(vocabulary)
    for notification in created:
        events.publish_user_notice_on_commit(
            user_id=notification.user_id,
            notice={
                "kind": "notification",
                "notification": notification_json(notification, words=words),
            },
        )
    return created


def notifications_for(user: User, *, limit: int = 50) -> list[dict]:
    """The user's latest notifications on threads they can still read, newest first."""
    visible = permissions.visible_items(user, Thread.objects.all()).values("pk")
    rows = (
        Notification.objects.filter(user=user, thread__in=visible)
        .select_related("thread", "message", "actor")
        .order_by("-created_at")[:limit]
    )
    words = SimpleLazyObject(vocabulary)
    return [notification_json(n, words=words) for n in rows]


def unread_notification_count(user: User) -> int:
    visible = permissions.visible_items(user, Thread.objects.all()).values("pk")
    return Notification.objects.filter(user=user, read_at__isnull=True, thread__in=visible).count()


def notifications_mark_read(*, actor: User, ids: object) -> int:
    """Mark the actor's notifications read: a list of ids, or ``"all"``. Others' ids are
    ignored (they are not found among the actor's). Returns how many changed."""
    mine = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids != "all":
        # NUL is never in an id, and PostgreSQL refuses it in a query (DataError).
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) and "\x00" not in i for i in ids)
            or len(ids) > 500
        ):
            raise Invalid("'ids' must be a list of notification ids or \"all\".", code="bad_field")
        mine = mine.filter(public_id__in=ids)
    return mine.update(read_at=timezone.now())


def thread_mute(*, actor: User, thread: Thread, muted: bool) -> None:
    """Stop (or resume) following a thread the actor can read: no digests about it."""
    if muted:
        ThreadMute.objects.get_or_create(user=actor, thread=thread)
    else:
        ThreadMute.objects.filter(user=actor, thread=thread).delete()


def thread_muted(user: User, thread: Thread) -> bool:
    return ThreadMute.objects.filter(user=user, thread=thread).exists()


# --- e-mail digests -------------------------------------------------------------------------


def _digest_lines(
    person: User, thread: Thread, choices: dict[str, str] | None = None
) -> dict | None:
    """What one person has not read in one thread and has not been e-mailed about, of what
    they chose to be e-mailed about soon (``messaging.preferences``; every kind by default):
    the messages of others (or only those that mention them), and the updates they were
    notified of (a document added, a matter's status changed), each said the way its kind
    says it."""
    choices = choices or {}
    read = (
        ReadState.objects.filter(user=person, thread=thread)
        .values_list("last_read_seq", flat=True)
        .first()
        or 0
    )
    emailed = (
        DigestState.objects.filter(user=person, thread=thread)
        .values_list("emailed_seq", flat=True)
        .first()
        or 0
    )
    seen = max(read, emailed)
    unseen = (
        Message.objects.filter(thread=thread, seq__gt=seen, deleted_at__isnull=True)
        .exclude(author=person)
        .select_related("author")
        .order_by("seq")
    )
    later = [kind for kind, channel in choices.items() if channel != Channel.EMAIL]
    if preferences.channel_in(choices, preferences.MESSAGES) != Channel.EMAIL:
        if preferences.channel_in(choices, MENTION.value) == Channel.EMAIL:
            unseen = unseen.filter(
                pk__in=Notification.objects.filter(
                    user=person, thread=thread, kind=MENTION.value
                ).values("message_id")
            )
        else:
            unseen = unseen.none()
    return _thread_lines(
        thread,
        unseen,
        Notification.objects.filter(user=person, thread=thread, message__isnull=True, seq__gt=seen)
        .exclude(kind__in=later)
        .select_related("actor")
        .order_by("seq"),
    )


def _thread_lines(thread: Thread, unseen: QuerySet[Message], updates_qs) -> dict | None:
    count = unseen.count()
    updates = list(updates_qs)
    if not count and not updates:
        return None
    latest = list(unseen.reverse()[:DIGEST_MESSAGES_SHOWN]) if not thread.privileged else []
    latest.reverse()
    return {
        "thread": thread,
        "count": count,
        # A privileged thread is named by its account only: no title, no content.
        "title": thread.title if not thread.privileged else None,
        "messages": [{"author": m.author.name, "excerpt": _excerpt(m.body)} for m in latest],
        # What changed in a privileged thread is content too: only how many things did.
        "updates": [
            f"{n.actor.name if n.actor else 'Someone'} {n.detail}"
            for n in updates[-DIGEST_MESSAGES_SHOWN:]
        ]
        if not thread.privileged
        else [],
        "update_count": len(updates),
        "url": f"{settings.ATRIUM_BASE_URL.rstrip('/')}/threads/{thread.public_id}/",
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def digest_subject(messages: int, updates: int) -> str:
    """ "2 new messages and 1 update for you", "1 new message for you", "3 updates for you"."""
    parts = []
    if messages:
        parts.append(_plural(messages, "new message"))
    if updates:
        parts.append(_plural(updates, "update"))
    return " and ".join(parts) + " for you"


def digests_send(*, now: datetime | None = None) -> int:
    """Send every digest that is due: one e-mail per person covering all their due threads.
    Safe to run concurrently and again: each thread's due mark is claimed by one run.
    Returns the number of e-mails sent."""
    now = now or timezone.now()
    per_person: dict[int, list[dict]] = defaultdict(list)
    people: dict[int, User] = {}
    for thread in Thread.objects.filter(digest_due_at__lte=now).select_related("account"):
        with transaction.atomic():
            claimed = Thread.objects.filter(pk=thread.pk, digest_due_at__lte=now).update(
                digest_due_at=None
            )
            if not claimed:
                continue
            muted = set(ThreadMute.objects.filter(thread=thread).values_list("user_id", flat=True))
            followers = [p for p in thread_followers(thread) if p.pk not in muted]
            choices = preferences.choices_of(p.pk for p in followers)
            for person in followers:
                lines = _digest_lines(person, thread, choices.get(person.pk))
                if lines is None:
                    continue
                per_person[person.pk].append(lines)
                people[person.pk] = person
                DigestState.objects.update_or_create(
                    user=person, thread=thread, defaults={"emailed_seq": thread.last_seq}
                )
    sent = 0
    for person_id, threads in per_person.items():
        sent += _digest_mail(people[person_id], threads)
    return sent


def _digest_mail(person: User, threads: list[dict], *, daily: bool = False) -> int:
    total = sum(t["count"] for t in threads)
    updates = sum(t["update_count"] for t in threads)
    subject = digest_subject(total, updates)
    if daily:
        subject = "Your daily digest: " + subject
    try:
        send_branded_mail(
            to=[person.email],
            subject=subject,
            template="messaging/email/digest",
            context={"person": person, "threads": threads, "total": total, "lead": subject},
        )
    except Exception:
        log.exception("e-mailing the digest to %s failed", person.public_id)
        return 0
    return 1


# --- the daily e-mail -------------------------------------------------------------------------


def _daily_lines(person: User, since: datetime, choices: dict[str, str]) -> list[dict]:
    """What ``person`` chose to hear of once a day and has not read, since ``since``: new
    messages in the threads they follow (or only those mentioning them), and the updates of
    the kinds they chose, on threads they can still read. A fixed number of queries per
    thread with something to say."""
    daily = {kind for kind, channel in choices.items() if channel == Channel.DIGEST}
    if not daily:
        return []
    visible = permissions.visible_items(person, Thread.objects.all())
    muted = ThreadMute.objects.filter(user=person).values("thread_id")
    messages = Message.objects.filter(
        thread__in=visible.values("pk"), created_at__gt=since, deleted_at__isnull=True
    ).exclude(author=person)
    if preferences.MESSAGES in daily:
        messages = messages.exclude(thread_id__in=muted)
    elif MENTION.value in daily:
        messages = messages.filter(
            pk__in=Notification.objects.filter(user=person, kind=MENTION.value).values("message_id")
        )
    else:
        messages = messages.none()
    updates = Notification.objects.filter(
        user=person,
        thread__in=visible.values("pk"),
        message__isnull=True,
        created_at__gt=since,
        read_at__isnull=True,
        kind__in=daily,
    )
    thread_ids = set(messages.values_list("thread_id", flat=True)) | set(
        updates.values_list("thread_id", flat=True)
    )
    read = dict(
        ReadState.objects.filter(user=person, thread_id__in=thread_ids).values_list(
            "thread_id", "last_read_seq"
        )
    )
    lines = []
    for thread in Thread.objects.filter(pk__in=thread_ids).select_related("account"):
        seen = read.get(thread.pk, 0)
        found = _thread_lines(
            thread,
            messages.filter(thread=thread, seq__gt=seen).select_related("author").order_by("seq"),
            updates.filter(thread=thread, seq__gt=seen).select_related("actor").order_by("seq"),
        )
        if found is not None:
            lines.append(found)
    return lines


def daily_digests_send(*, now: datetime | None = None) -> int:
    """Send the daily e-mails that are due, each covering what happened since the last one,
    and set each person's next. Safe to run concurrently and again: each is claimed by one
    run. Returns the number of e-mails sent."""
    now = now or timezone.now()
    sent = 0
    for digest in DailyDigest.objects.filter(due_at__lte=now).select_related("user"):
        person = digest.user
        following = preferences.next_daily_digest(person, now)
        claimed = DailyDigest.objects.filter(pk=digest.pk, due_at=digest.due_at).update(
            due_at=following, covered_until=now
        )
        if not claimed or not person.is_active:
            continue
        choices = preferences.choices_of([person.pk]).get(person.pk, {})
        threads = _daily_lines(person, digest.covered_until, choices)
        if threads:
            sent += _digest_mail(person, threads, daily=True)
    return sent


def daily_digest_next_due() -> datetime | None:
    return DailyDigest.objects.order_by("due_at").values_list("due_at", flat=True).first()
