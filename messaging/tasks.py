"""Background tasks of the messaging app (run by ``manage.py db_worker``)."""

from __future__ import annotations

import logging
from datetime import datetime

from django_tasks import task

from messaging import notifications

log = logging.getLogger(__name__)


@task()
def send_digests() -> int:
    """E-mail the digests that are due."""
    return notifications.digests_send()


def digest_schedule(due: datetime) -> None:
    """Queue the digest task to run when a thread's digest is due."""
    try:
        send_digests.using(run_after=due).enqueue()
    except Exception:
        # The next message re-arms nothing while digest_due_at is set, so a later run of the
        # task (any due time) still picks this thread up.
        log.exception("queueing the e-mail digest failed")


@task()
def send_daily_digests() -> int:
    """E-mail the daily digests that are due, then queue the next run."""
    sent = notifications.daily_digests_send()
    following = notifications.daily_digest_next_due()
    if following is not None:
        daily_digest_schedule(following)
    return sent


def daily_digest_schedule(due: datetime) -> None:
    """Queue the daily digest task to run at ``due``."""
    try:
        send_daily_digests.using(run_after=due).enqueue()
    except Exception:
        # The next choice of a daily e-mail, or the next run, queues it again.
        log.exception("queueing the daily e-mail digest failed")
