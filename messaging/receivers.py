"""What messaging does when something changes in accounts."""

from __future__ import annotations

from accounts import permissions
from messaging import events, services
from messaging.models import Thread


def open_general_thread(sender, account, **kwargs) -> None:
    """Every client account has a General thread from the start."""
    services.thread_ensure_general(account)


def notify_access_reduced(sender, user_ids, **kwargs) -> None:
    """Open sockets of these users re-check what they may read and drop the rest at once."""
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
