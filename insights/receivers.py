"""Sign-ins recorded as they happen."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from insights.models import LoginEvent


@receiver(user_logged_in, dispatch_uid="insights.login_recorded")
def login_recorded(sender, request, user, **kwargs) -> None:
    LoginEvent.objects.create(user=user, firm_staff=user.is_firm_staff)
