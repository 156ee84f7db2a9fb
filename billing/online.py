"""Whether clients can pay an invoice online from its page: a payment link template in the
firm's billing settings, or Stripe keys in the environment
(``settings.ATRIUM_STRIPE_SECRET_KEY``). Without either the page shows the firm's payment
terms (bank details) and no "Pay now" button."""

from __future__ import annotations

from django.conf import settings

from billing.selectors.settings import settings_get


def stripe_configured() -> bool:
    return bool(getattr(settings, "ATRIUM_STRIPE_SECRET_KEY", ""))


def enabled(billing_settings=None) -> bool:
    """Online payment is on. Pass the firm's ``BillingSettings`` when at hand to spare the
    query."""
    if stripe_configured():
        return True
    found = billing_settings if billing_settings is not None else settings_get()
    return bool(found.payment_link_template)
