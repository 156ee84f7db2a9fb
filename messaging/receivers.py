"""What messaging does when something changes in accounts."""

from __future__ import annotations

import logging

from accounts import permissions
from messaging import access, events, services
from messaging.models import Thread

log = logging.getLogger(__name__)


def open_general_thread(sender, account, **kwargs) -> None:
    """Every client account has a General thread from the start."""
    services.thread_ensure_general(account)


def notify_access_reduced(sender, user_ids, **kwargs) -> None:
    """Open sockets of these users re-check what they may read and drop the rest at once
    (whatever reduced it: a service, the admin, a shell; ``accounts.access_log``).

    The stamp comes first: it is what refuses their next frame if the notice is lost. A
    notice that does not reach a worker (another process on the in-memory layer) is made up
    for by the access-change log, which every worker reads (``messaging.access``)."""
    try:
        access.stamps_bump(user_ids)
    except Exception:
        # Sockets still re-check within access.MAX_AGE_SECONDS.
        log.exception("recording the access change of %s failed", sorted(user_ids))
    for user_id in user_ids:
        events.publish_user_notice(user_id=user_id, notice={"kind": "access_reduced"})


def follow_matter_access(sender, matter, user, granted, **kwargs) -> None:
    """The privileged threads of a privileged matter are open to exactly its grantees."""
    for thread in Thread.objects.filter(matter=matter, privileged=True):
        if granted:
            permissions.privileged_grant(thread, user)
        else:
            permissions.privileged_revoke(thread, user)


def close_signed_out_sockets(sender, request, user, **kwargs) -> None:
    """Signing out in one tab ends the sockets opened with that session, on every worker."""
    if user is None or request is None or not hasattr(request, "session"):
        return
    events.publish_user_notice(
        user_id=user.pk,
        notice={"kind": "signed_out", "session": events.session_tag(request.session.session_key)},
    )
