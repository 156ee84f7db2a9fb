"""Billing without the admin: the firm's billing settings (firm admins) and a client
account's billing details (the firm's people on its team, and its client admins). Each form
calls one service (``billing.services.settings``) and shows its refusal on the field named."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import permissions
from accounts.errors import AtriumError
from accounts.http import refuse_nul
from accounts.permissions import Action
from billing.online import stripe_enabled
from billing.selectors.numbers import next_numbers
from billing.selectors.settings import profile_of, settings_get
from billing.services import settings as billing_settings
from billing.services.invoices import firm_today
from frontend.billing_forms import BillingDetailsForm, BillingSettingsForm
from frontend.views.common import account_or_404

SETTINGS_FIELDS = list(BillingSettingsForm.base_fields)
DETAIL_FIELDS = list(BillingDetailsForm.base_fields)


@login_required
@require_http_methods(["GET", "POST"])
def billing_settings_page(request: HttpRequest) -> HttpResponse:
    """The firm's billing details, number formats (with the next numbers, read without
    taking one), default currency, payment terms, payment link and reminder days, and
    whether Stripe is on (from the environment). Firm admins only."""
    if not permissions.can_manage_firm(request.user):
        raise Http404
    found = settings_get()
    form = BillingSettingsForm(
        request.POST or None, initial={name: getattr(found, name) for name in SETTINGS_FIELDS}
    )
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                billing_settings.billing_settings_update(actor=request.user, **form.cleaned_data)
                messages.success(request, "Billing settings saved.")
                return redirect("frontend:billing_settings")
        except AtriumError as error:
            form.show_error(error)
    return render(
        request,
        "frontend/billing_settings.html",
        {
            "form": form,
            "section": "billing",
            "next_numbers": next_numbers(
                found.invoice_number_format, found.credit_note_number_format, firm_today()
            ),
            "stripe_enabled": stripe_enabled(),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_billing_details(request: HttpRequest, account_id: str) -> HttpResponse:
    """The account's billing details, printed on the invoices sent from now on. The firm's
    people on its team and its client admins (``profile_change_check``); anyone else: 404."""
    account = account_or_404(request.user, account_id, Action.INVITE)
    try:
        billing_settings.profile_change_check(request.user, account)
    except AtriumError:
        raise Http404 from None
    profile = profile_of(account)
    form = BillingDetailsForm(
        request.POST or None, initial={name: getattr(profile, name) for name in DETAIL_FIELDS}
    )
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                billing_settings.billing_profile_update(
                    actor=request.user, account=account, **form.cleaned_data
                )
                messages.success(request, f"{account.name}'s billing details saved.")
                return redirect("frontend:account_billing_details", account_id=account.public_id)
        except AtriumError as error:
            form.show_error(error)
    return render(
        request,
        "frontend/account_billing_details.html",
        {"account": account, "form": form},
        status=400 if request.method == "POST" else 200,
    )
