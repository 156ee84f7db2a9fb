"""Sign-ins recorded as they happen; message rollups dropped when a past month's message
changes."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from insights import rollups
from insights.models import LoginEvent


@receiver(user_logged_in, dispatch_uid="insights.login_recorded")
def login_recorded(sender, request, user, **kwargs) -> None:
    LoginEvent.objects.create(user=user, firm_staff=user.is_firm_staff)


def message_rollups_drop(sender, message, **kwargs) -> None:
    """Connected to messaging's ``message_changed`` (sent after the commit of a send, an
    edit or a deletion): a message of a closed month drops that month's message rollups,
    so the next read counts it as it now is. A message sent now is of the open month, which
    is never rolled up: nothing happens and no query is made, on the send path."""
    rollups.messages_month_drop(created_at=message.created_at)
