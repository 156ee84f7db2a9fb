"""An invoice's payments, for someone who may see the invoice."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import User
from accounts.permissions import BillingAction
from billing.models import Invoice, Payment


def payments_of(user: User, invoice: Invoice) -> QuerySet[Payment]:
    """The invoice's payments, oldest first, for someone who may see the invoice (its
    account's people once it is sent, the team always); NotFound otherwise."""
    if not permissions.can_on_billing(user, BillingAction.VIEW, invoice):
        raise NotFound
    return Payment.objects.filter(invoice=invoice).order_by("date", "recorded_at", "pk")
