"""The firm's billing settings (firm admins) and a client account's billing details (those
who serve it, and the account's client admins). What is saved is what the next invoice sent
prints: invoices already sent keep the parties they were sent with."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, ClientRole, User
from accounts.permissions import Action
from billing import details, money, numbering
from billing.models import BillingProfile, BillingSettings
from billing.online import payment_link_template_checked
from billing.selectors.settings import settings_get

log = logging.getLogger(__name__)

SETTINGS_FIELDS = frozenset(
    {
        *details.DETAIL_FIELDS,
        "invoice_number_format",
        "credit_note_number_format",
        "default_currency",
        "payment_terms_days",
        "payment_terms",
        "payment_link_template",
        "reminder_days_before",
        "reminder_days_after",
    }
)
DAY_LIMITS = {"payment_terms_days": 365, "reminder_days_before": 60, "reminder_days_after": 60}
MAX_TERMS_CHARS = 1000


def _unknown(given: dict, allowed: frozenset) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(unknown)}.",
            code="unknown_field",
            fields=dict.fromkeys(unknown, "unknown"),
        )


def _days(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid(f"{field} is a whole number of days.", fields={field: "invalid"})
    text = str(value).strip()
    if not text.isdigit() or int(text) > DAY_LIMITS[field]:
        raise Invalid(
            f"{field} is a whole number of days from 0 to {DAY_LIMITS[field]}.",
            fields={field: "invalid"},
        )
    return int(text)


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{field} is text.", fields={field: "invalid"})
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{field} has at most {limit} characters.", fields={field: "too_long"})
    return value


def checked_link_template(value: object) -> str:
    """A payment link: blank, or an https URL using only {invoice}, {number}, {amount} and
    {currency} (``billing.online.payment_link_template_checked``, the one rule)."""
    return payment_link_template_checked(value)


def billing_settings_update(*, actor: User, **fields) -> BillingSettings:
    """Change the firm's billing settings. Forbidden (``firm_admin_only``) for anyone but a
    firm admin; Invalid naming the field: ``unknown_field``, ``bad_vat_number``,
    ``bad_number_format``, ``unknown_currency``, ``bad_link_template``, days out of range,
    text too long; ``nothing_to_change`` for no field."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden(
            "Only the firm's admins change its billing settings.", code="firm_admin_only"
        )
    _unknown(fields, SETTINGS_FIELDS)
    if not fields:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    changes = details.checked_details(
        {k: v for k, v in fields.items() if k in details.DETAIL_FIELDS}
    )
    for name in ("invoice_number_format", "credit_note_number_format"):
        if name in fields:
            changes[name] = numbering.checked_format(fields[name], name)
    if "default_currency" in fields:
        changes["default_currency"] = money.checked_currency(
            fields["default_currency"], "default_currency"
        )
    for name in DAY_LIMITS:
        if name in fields:
            changes[name] = _days(fields[name], name)
    if "payment_terms" in fields:
        changes["payment_terms"] = _text(fields["payment_terms"], "payment_terms", MAX_TERMS_CHARS)
    if "payment_link_template" in fields:
        changes["payment_link_template"] = checked_link_template(fields["payment_link_template"])
    with transaction.atomic():
        found = settings_get()
        found = BillingSettings.objects.select_for_update().get(pk=found.pk)
        for name, value in changes.items():
            setattr(found, name, value)
        found.save(update_fields=[*changes, "updated_at"])
    log.info("billing: %s changed the billing settings: %s", actor.public_id, sorted(changes))
    return found


def profile_change_check(actor: User, account: ClientAccount) -> None:
    """NotFound if ``actor`` cannot see the account; Forbidden (``billing_details``) if they
    see it but neither serve it nor are one of its client admins."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    if permissions.can_bill_account(actor, account):
        return
    if actor.memberships.filter(account=account, role=ClientRole.ADMIN).exists():
        return
    raise Forbidden(
        "Only the account's admins and the firm's people on its team change its billing details.",
        code="billing_details",
    )


def billing_profile_update(*, actor: User, account: ClientAccount, **fields) -> BillingProfile:
    """Change the account's billing details (legal name, address, VAT number, e-mail,
    country), printed on the invoices sent after. Who: ``profile_change_check``. Invalid
    naming the field (``unknown_field``, ``bad_vat_number``, …); ``nothing_to_change``."""
    profile_change_check(actor, account)
    if not fields:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    changes = details.checked_details(fields)
    with transaction.atomic():
        try:
            with transaction.atomic():
                profile, _ = BillingProfile.objects.select_for_update().get_or_create(
                    account=account
                )
        except IntegrityError:
            # Made at the same moment by another request: change that one.
            profile = BillingProfile.objects.select_for_update().get(account=account)
        for name, value in changes.items():
            setattr(profile, name, value)
        profile.save(update_fields=[*changes, "updated_at"])
    log.info(
        "billing: %s changed the billing details of %s: %s",
        actor.public_id,
        account.public_id,
        sorted(changes),
    )
    return profile
