"""Due dates: the reminder the day before, and expiry ``ATRIUM_APPROVAL_EXPIRY_DAYS`` days
after (``approvals.policy`` has the day arithmetic; docs/api.md states the rule).

``approvals_due_run`` does whatever is due, for every request at once, and is safe to run
again or concurrently (each request is handled under its row lock and re-checked there). It
runs as a task (``approvals.tasks.approvals_due``) queued for the two moments of each request
with a due date, when the request is made or starts a new round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals import events, policy, selectors
from approvals.models import ApprovalRequest, Decision, Status
from approvals.services.lookups import approvers_of, request_close, request_locked
from approvals.services.record import ledger_append, thread_post

log = logging.getLogger(__name__)


def start_of(day: date) -> datetime:
    """The first moment of ``day`` in the firm's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def moments(request: ApprovalRequest) -> list[datetime]:
    """When something may fall due for ``request``: its reminder and its expiry."""
    if request.due is None:
        return []
    return [
        start_of(policy.reminder_day(request.due)),
        start_of(policy.expiry_day(request.due, selectors.expiry_days())),
    ]


def schedule(request: ApprovalRequest) -> None:
    from approvals.tasks import approvals_due

    for moment in moments(request):
        try:
            approvals_due.using(run_after=moment).enqueue()
        except Exception:
            # A later run (any request's, or the next round's) still finds this one due.
            log.exception("queueing the due-date task of %s failed", request.public_id)


def schedule_on_commit(request: ApprovalRequest) -> None:
    if request.due is not None:
        transaction.on_commit(lambda: schedule(request))


@dataclass(frozen=True)
class DueRun:
    reminded: list[str]
    expired: list[str]


def approvals_due_run(*, now: datetime | None = None) -> DueRun:
    """Expire the open requests whose due date is ``ATRIUM_APPROVAL_EXPIRY_DAYS`` days past,
    then remind the undecided approvers of open requests due tomorrow or earlier, once per
    round. Returns the public ids of both."""
    today = timezone.localdate(now) if now is not None else selectors.today()
    last_due_expiring = today - timedelta(days=selectors.expiry_days() + 1)
    expired = []
    for pk in ApprovalRequest.objects.filter(
        status=Status.OPEN, due__lte=last_due_expiring
    ).values_list("pk", flat=True):
        with transaction.atomic():
            locked = request_locked(ApprovalRequest(pk=pk))
            if not (
                policy.may_expire(locked.status)
                and policy.expiry_day(locked.due, selectors.expiry_days()) <= today
            ):
                continue
            request_close(locked, Status.EXPIRED)
            people = approvers_of(locked)
            ledger_append(
                request=locked,
                actor=None,
                kind=events.LEDGER_CLOSED_PREFIX + Status.EXPIRED,
                versions=selectors.versions_json(selectors.bound_versions(locked, locked.round)),
                approvers=people,
                meta=None,
                due=locked.due.isoformat(),
                counts=selectors.round_tally(locked, len(people)).as_json(locked.required),
            )
            thread_post(
                request=locked,
                event_type=events.CLOSED_EVENT,
                actor=None,
                notify=[*people, locked.created_by],
                detail=f"{locked.title} expired, {selectors.expiry_days()} days after it was due",
                status=locked.status,
            )
            expired.append(locked.public_id)
    reminded = []
    for pk in (
        ApprovalRequest.objects.filter(status=Status.OPEN, due__lte=today + timedelta(days=1))
        .filter(Q(reminded_round__isnull=True) | ~Q(reminded_round=F("round")))
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            locked = request_locked(ApprovalRequest(pk=pk))
            if locked.status != Status.OPEN or locked.reminded_round == locked.round:
                continue
            decided = set(
                Decision.objects.filter(request=locked, round=locked.round).values_list(
                    "approver_id", flat=True
                )
            )
            waiting = [p for p in approvers_of(locked) if p.pk not in decided and p.is_active]
            locked.reminded_round = locked.round
            locked.save(update_fields=["reminded_round"])
            thread_post(
                request=locked,
                event_type=events.REMINDED,
                actor=None,
                notify=waiting,
                detail=f"{locked.title} is due {locked.due.isoformat()}",
            )
            reminded.append(locked.public_id)
    if expired or reminded:
        log.info("approvals: reminded %s, expired %s", reminded, expired)
    return DueRun(reminded, expired)
