"""The firm's billing settings and a client account's billing details."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import ClientAccount
from billing.models import BillingProfile, BillingSettings


def settings_get() -> BillingSettings:
    """The firm's one settings row, made with the defaults on first use."""
    found, _ = BillingSettings.objects.get_or_create(singleton=True)
    return found


def profile_of(account: ClientAccount) -> BillingProfile:
    """The account's billing details, unsaved and empty when it has none yet."""
    found = BillingProfile.objects.filter(account=account).first()
    return found if found is not None else BillingProfile(account=account)


def firm_today() -> dt.date:
    """Today where the firm is (the deployment's TIME_ZONE), whoever asks: the day an invoice
    is issued, and the last day a proposal "valid until" it may be accepted."""
    return timezone.localdate(timezone=timezone.get_default_timezone())
