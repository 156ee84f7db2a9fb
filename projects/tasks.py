"""Background tasks of projects (run by ``manage.py db_worker``)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from projects import digest

log = logging.getLogger(__name__)


@task()
def send_status_digests() -> int:
    """E-mail this week's status digests, then queue next week's run."""
    sent = digest.status_digests_send()
    # Through the check: of two runs queued by two processes, only one queues the next.
    status_digest_arm()
    return sent


def status_digest_schedule(due: datetime) -> None:
    """Queue the weekly digest task to run at ``due``."""
    try:
        send_status_digests.using(run_after=due).enqueue()
    except Exception:
        # Queued again by the next person turning the e-mail on, or by the next change to a
        # plan once the cache has forgotten this week's check.
        log.exception("queueing the weekly status digest failed")


def _queued() -> bool:
    """Whether a run of the weekly task waits in the queue. Only the database backend can be
    asked; with another, the answer is no and a second run may be queued, which sends
    nothing twice (each person is claimed once a week)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(send_status_digests.get_backend(), DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        task_path=send_status_digests.module_path, status=TaskResultStatus.READY
    ).exists()


def status_digest_arm() -> None:
    """Queue the weekly run unless one is queued."""
    if not _queued():
        status_digest_schedule(digest.next_weekly_run(timezone.now()))


ARMED_KEY = "projects:status-digest-armed"


def status_digest_arm_on_change(*, created: bool = False, raw: bool = False, **_signal) -> None:
    """After a change to a plan is committed, make sure the weekly run that will report it is
    queued: that is how a new deployment starts the weekly cycle. The cache remembers it was
    checked until that run, so a busy week costs one look at the queue, not one per change."""
    if not created or raw:
        return

    def arm() -> None:
        now = timezone.now()
        due = digest.next_weekly_run(now)
        if cache.add(ARMED_KEY, True, timeout=max(1, int((due - now).total_seconds()))):
            status_digest_arm()

    transaction.on_commit(arm)
