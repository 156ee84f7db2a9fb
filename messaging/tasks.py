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
