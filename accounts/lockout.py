"""Sign-in lock-outs: django-axes' database handler, plus a limit per client address.

Axes counts failures per (e-mail, client address) and locks that pair out at
``AXES_FAILURE_LIMIT``. On its own that lets one client address try a few passwords against
every address in turn. Its single failure limit cannot be set apart per lock-out parameter,
so this handler adds the second rule from axes' own records: once the failures from one client
address, across all e-mail addresses, reach ``ATRIUM_LOGIN_IP_FAILURE_LIMIT`` within the
cool-off, that client address is locked out of every address. Both lock-outs lift by
themselves once no failure has been recorded for the cool-off (``AXES_COOLOFF_TIME``).
"""

from __future__ import annotations

import logging

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum

log = logging.getLogger(__name__)


class AtriumLockoutHandler(AxesDatabaseHandler):
    def ip_failures(self, request) -> int:
        """Failures from the request's client address, for any e-mail, within the cool-off."""
        ip_address = getattr(request, "axes_ip_address", None)
        if not ip_address:
            return 0
        total = AccessAttempt.objects.filter(
            ip_address=ip_address, attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(total=Sum("failures_since_start"))["total"]
        return total or 0

    def ip_locked(self, request) -> bool:
        limit = settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT
        return limit > 0 and self.ip_failures(request) >= limit

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            return True
        if self.ip_locked(request):
            # The lock-out page words itself for a whole client address.
            request.atrium_ip_locked_out = True
            return True
        return False

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self.is_whitelisted(request, credentials) or not self.ip_locked(request):
            return
        request.axes_locked_out = True
        request.axes_credentials = credentials
        request.atrium_ip_locked_out = True
        log.warning(
            "sign-ins from %s locked out for every address: %d failures within the cool-off",
            request.axes_ip_address,
            settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT,
        )
        user_locked_out.send(
            "axes",
            request=request,
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        )
