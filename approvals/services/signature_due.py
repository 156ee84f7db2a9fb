"""The reminder before a signature request's due date: once, from the start of the day
before it, to those whose turn it is (``approvals.policy.reminder_day``).

``signatures_due_run`` handles every request at once and is safe to run again or
concurrently (each request under its row lock, checked again there). It runs as the task
``approvals.tasks.signatures_due``, queued for the reminder moment of each request with a due
date when the request is made.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from approvals import signature_events as events
from approvals.models import SignatureRequest, SignatureStatus, Signer, SignerStatus
from approvals.policy import reminder_day
from approvals.services.due import start_of
from approvals.services.signature_record import thread_post

log = logging.getLogger(__name__)


def schedule(request: SignatureRequest) -> None:
    from approvals.tasks import signatures_due

    try:
        signatures_due.using(run_after=start_of(reminder_day(request.due))).enqueue()
    except Exception:
        # A later run (any request's) still finds this one due.
        log.exception("queueing the reminder task of %s failed", request.public_id)


def schedule_on_commit(request: SignatureRequest) -> None:
    if request.due is not None and request.reminded_on is None:
        transaction.on_commit(lambda: schedule(request))


def signatures_due_run(*, now: datetime | None = None) -> list[str]:
    """Remind those whose turn it is on every open request due tomorrow or earlier that was
    not reminded yet (nor asked on or after its reminder day), once per request: an event
    notifying them and an e-mail. Returns the public ids of the requests reminded."""
    from approvals.services.signatures import turn_mail

    today = timezone.localdate(now) if now is not None else timezone.localdate()
    reminded = []
    for pk in SignatureRequest.objects.filter(
        status=SignatureStatus.OPEN, due__lte=today + timedelta(days=1), reminded_on__isnull=True
    ).values_list("pk", flat=True):
        with transaction.atomic():
            locked = (
                SignatureRequest.objects.select_for_update(of=("self",))
                .select_related("account", "thread", "version__document", "created_by")
                .get(pk=pk)
            )
            if locked.status != SignatureStatus.OPEN or locked.reminded_on is not None:
                continue
            waiting = [
                row.user
                for row in Signer.objects.filter(
                    request=locked, status=SignerStatus.PENDING
                ).select_related("user")
                if row.user.is_active
            ]
            locked.reminded_on = today
            locked.save(update_fields=["reminded_on"])
            thread_post(
                request=locked,
                event_type=events.REMINDED,
                actor=None,
                notify=waiting,
                detail=f"{locked.title} is due {locked.due.isoformat()}",
            )
            turn_mail(locked, waiting, asker=None)
            reminded.append(locked.public_id)
    if reminded:
        log.info("signatures: reminded %s", reminded)
    return reminded
