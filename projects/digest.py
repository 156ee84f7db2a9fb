"""The weekly status e-mail to client users: what changed in their matters over the week,
each matter's progress and next milestone, and what waits on them, with links into the
portal (never attachments).

It never carries privileged text. A privileged matter stays out of it even for the people
granted it: they read one line, "a confidential matter changed: sign in to see it", with no
title, no task and no summary. E-mail leaves the portal's access control behind (forwarded,
read on a shared screen, kept in a mailbox the firm does not control), so what is walled off
in the portal is not put in it at all.

Everyone with a client account is offered it, on unless they opt out (``StatusDigest``, the
notifications settings page, ``/api/v1/me/notifications``). It goes out once a week, on
``WEEKLY_DAY`` at ``WEEKLY_HOUR`` in the firm's time zone (``projects.tasks``), and is
skipped when nothing changed and nothing waits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.mail import send_branded_mail
from accounts.models import FirmRole, Matter, Membership, User
from accounts.time_zones import zone_of
from messaging.subscriptions import Subscription
from projects.models import Change, StatusDigest, Task
from projects.progress import is_overdue
from projects.selectors.progress import matter_counts, next_milestones

log = logging.getLogger(__name__)

# Monday, 8:00 in the firm's time zone: read at the start of the working week.
WEEKLY_DAY = 0
WEEKLY_HOUR = 8
PERIOD = dt.timedelta(days=7)
# A run a little early or late still counts as this week's: someone sent to less than this
# long ago is not sent to again.
RESEND_AFTER = dt.timedelta(days=6)
# Every list in the e-mail is bounded; the rest is one "and N more" away, in the portal.
MATTERS_SHOWN = 10
CHANGES_SHOWN = 5
WAITING_SHOWN = 10
# People handled per batch of a run.
BATCH = 500

NAME = "status_digest"


# --- the choice ----------------------------------------------------------------------------


def status_digest_offered(user: User) -> bool:
    """Client users: the digest is about the work done for them."""
    return (
        user.is_active
        and user.firm_role == FirmRole.NONE
        and Membership.objects.filter(user=user).exists()
    )


def status_digest_enabled(user: User) -> bool:
    """On unless the person turned it off."""
    return not StatusDigest.objects.filter(user=user, enabled=False).exists()


def status_digest_set(*, user: User, on: bool) -> None:
    """Turn the person's weekly e-mail on or off. Turning it on queues the weekly run if none
    is queued (the first change to any plan does too), so a cleared queue is mended."""
    StatusDigest.objects.update_or_create(user=user, defaults={"enabled": on})
    if on:

        def arm() -> None:
            from projects.tasks import status_digest_arm

            status_digest_arm()

        transaction.on_commit(arm)


SUBSCRIPTION = Subscription(
    name=NAME,
    label="Weekly status e-mail",
    description=(
        "Every Monday morning: what changed in our work for you that week, how far along it "
        "is and what waits on you, with links to the portal. Nothing confidential is ever "
        "described in it."
    ),
    offered=status_digest_offered,
    subscribed=status_digest_enabled,
    subscribe=status_digest_set,
)


# --- when ------------------------------------------------------------------------------------


def next_weekly_run(after: dt.datetime) -> dt.datetime:
    """The first ``WEEKLY_DAY`` ``WEEKLY_HOUR``:00 in the firm's time zone strictly after
    ``after``, in UTC."""
    zone = timezone.get_default_timezone()
    local = after.astimezone(zone)
    day = local.date() + dt.timedelta(days=(WEEKLY_DAY - local.weekday()) % 7)
    moment = dt.datetime.combine(day, dt.time(WEEKLY_HOUR), tzinfo=zone)
    if moment <= local:
        moment = dt.datetime.combine(day + dt.timedelta(days=7), dt.time(WEEKLY_HOUR), tzinfo=zone)
    return moment.astimezone(dt.UTC)


# --- what -------------------------------------------------------------------------------------


@dataclass
class MatterLines:
    title: str
    account: str
    url: str
    progress: int
    next_milestone: str | None
    next_due: dt.date | None
    next_overdue: bool
    changes: list[str] = field(default_factory=list)
    more_changes: int = 0


@dataclass
class WaitingLine:
    title: str
    matter: str
    due: dt.date | None
    overdue: bool


@dataclass
class StatusDigestContent:
    """One person's weekly e-mail. ``confidential``: how many privileged matters they may see
    changed or wait on them, the only thing said of those."""

    matters: list[MatterLines]
    more_matters: int
    waiting: list[WaitingLine]
    more_waiting: int
    change_count: int
    confidential: int
    home_url: str
    settings_url: str

    @property
    def waiting_count(self) -> int:
        return len(self.waiting) + self.more_waiting

    @property
    def subject(self) -> str:
        parts = []
        if self.change_count:
            parts.append(_plural(self.change_count, "update"))
        if self.waiting_count:
            parts.append(f"{_plural(self.waiting_count, 'task')} waiting on you")
        if not parts:
            parts.append("a confidential matter changed")
        return "Your weekly status: " + " and ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _url(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def status_digest_content(
    person: User, *, since: dt.datetime, now: dt.datetime
) -> StatusDigestContent | None:
    """What ``person``'s weekly e-mail says of the changes in ``(since, now]``, or None when
    nothing changed and nothing waits. A constant number of queries whatever the number of
    matters, milestones, tasks and changes."""
    today = timezone.localdate(now, zone_of(person) or timezone.get_default_timezone())
    visible = list(
        permissions.matters_visible_to(person)
        .select_related("account")
        .only("pk", "public_id", "title", "privileged", "account__name", "target_date")
    )
    if not visible:
        return None
    open_matters = {m.pk: m for m in visible if not m.privileged}
    privileged_ids = [m.pk for m in visible if m.privileged]

    changes = list(
        Change.objects.filter(matter_id__in=list(open_matters), at__gt=since, at__lte=now)
        .order_by("-at", "-pk")
        .values_list("matter_id", "summary")
    )
    waiting_filter = Q(done_at__isnull=True) & (
        Q(assignee=person)
        | Q(
            for_client=True,
            matter__account_id__in=Membership.objects.filter(user=person).values("account_id"),
        )
    )
    waiting_tasks = list(
        Task.objects.filter(waiting_filter, matter_id__in=list(open_matters))
        .order_by("due", "matter_id", "position")
        .values_list("matter_id", "title", "due")
    )
    confidential = 0
    if privileged_ids:
        confidential = len(
            set(
                Change.objects.filter(matter_id__in=privileged_ids, at__gt=since, at__lte=now)
                .values_list("matter_id", flat=True)
                .distinct()
            )
            | set(
                Task.objects.filter(waiting_filter, matter_id__in=privileged_ids)
                .values_list("matter_id", flat=True)
                .distinct()
            )
        )
    if not changes and not waiting_tasks and not confidential:
        return None

    per_matter: dict[int, list[str]] = {}
    for matter_id, summary in changes:
        per_matter.setdefault(matter_id, []).append(summary)
    # Matters that changed first (most changes first), then those only waiting on the person.
    shown_ids = sorted(per_matter, key=lambda pk: (-len(per_matter[pk]), open_matters[pk].title))
    shown_ids += sorted(
        {pk for pk, _, _ in waiting_tasks} - set(per_matter), key=lambda pk: open_matters[pk].title
    )
    listed = shown_ids[:MATTERS_SHOWN]
    counts = matter_counts(listed, today=today)
    upcoming = next_milestones(listed)
    matters = []
    for pk in listed:
        matter: Matter = open_matters[pk]
        summaries = per_matter.get(pk, [])
        milestone = upcoming.get(pk)
        progress = counts[pk].progress if pk in counts else 0
        matters.append(
            MatterLines(
                title=matter.title,
                account=matter.account.name,
                url=_url(reverse("frontend:matter", kwargs={"matter_id": matter.public_id})),
                progress=progress,
                next_milestone=milestone.title if milestone else None,
                next_due=milestone.due if milestone else None,
                next_overdue=bool(milestone and is_overdue(milestone.due, done=False, today=today)),
                changes=summaries[:CHANGES_SHOWN],
                more_changes=max(0, len(summaries) - CHANGES_SHOWN),
            )
        )
    # Overdue first, then by due date (no date last), as the status page orders them.
    waiting_tasks.sort(
        key=lambda row: (
            not is_overdue(row[2], done=False, today=today),
            row[2] is None,
            row[2] or today,
        )
    )
    waiting = [
        WaitingLine(
            title=title,
            matter=open_matters[matter_id].title,
            due=due,
            overdue=is_overdue(due, done=False, today=today),
        )
        for matter_id, title, due in waiting_tasks[:WAITING_SHOWN]
    ]
    return StatusDigestContent(
        matters=matters,
        more_matters=max(0, len(shown_ids) - MATTERS_SHOWN),
        waiting=waiting,
        more_waiting=max(0, len(waiting_tasks) - WAITING_SHOWN),
        change_count=len(changes),
        confidential=confidential,
        home_url=_url(reverse("frontend:home")),
        settings_url=_url(reverse("frontend:notification_settings")),
    )


# --- sending ---------------------------------------------------------------------------------


def _recipients(now: dt.datetime):
    """Active client users with the digest on and none sent to them this week."""
    sent_lately = StatusDigest.objects.filter(
        Q(enabled=False) | Q(last_sent_at__gt=now - RESEND_AFTER)
    ).values("user_id")
    return (
        User.objects.filter(
            is_active=True,
            firm_role=FirmRole.NONE,
            pk__in=Membership.objects.values("user_id"),
        )
        .exclude(pk__in=sent_lately)
        .order_by("pk")
    )


def status_digests_send(*, now: dt.datetime | None = None) -> int:
    """Send this week's status e-mails: to every active client user with the digest on and
    none sent this week, covering the changes since the last one (at most a week back).
    Safe to run concurrently and again: each person is claimed by one run. Returns the
    number of e-mails sent."""
    now = now or timezone.now()
    people = list(_recipients(now))
    sent = 0
    # In batches, so that no statement names more people than a database takes parameters.
    for start in range(0, len(people), BATCH):
        sent += _batch_send(people[start : start + BATCH], now)
    return sent


def _batch_send(people: list[User], now: dt.datetime) -> int:
    StatusDigest.objects.bulk_create(
        [StatusDigest(user=person) for person in people], ignore_conflicts=True
    )
    rows = {
        row.user_id: row
        for row in StatusDigest.objects.filter(user__in=people, enabled=True).only(
            "pk", "user_id", "last_sent_at"
        )
    }
    sent = 0
    for person in people:
        row = rows.get(person.pk)
        if row is None:
            continue
        # Claimed by the run that moves last_sent_at from what was read; another run (or a
        # retry) finds it moved and leaves the person alone.
        claimed = StatusDigest.objects.filter(
            pk=row.pk, enabled=True, last_sent_at=row.last_sent_at
        ).update(last_sent_at=now)
        if not claimed:
            continue
        since = max(row.last_sent_at or now - PERIOD, now - PERIOD)
        content = status_digest_content(person, since=since, now=now)
        if content is None:
            continue
        sent += _status_digest_mail(person, content)
    return sent


def _status_digest_mail(person: User, content: StatusDigestContent) -> int:
    try:
        send_branded_mail(
            to=[person.email],
            subject=content.subject,
            template="projects/email/status_digest",
            context={"person": person, "digest": content},
        )
    except Exception:
        log.exception("e-mailing the weekly status to %s failed", person.public_id)
        return 0
    return 1
