"""Billing pages: an account's billing (what is owed at a glance, then the history), an
invoice as a document the client pays from or downloads, the staff editor of a draft invoice
or proposal, the firm's receivables, and a proposal the client accepts or declines.

Thin: what the pages show comes from ``billing.selectors`` (``pages``, ``json``), who may see
what from ``billing.services.lookups`` and ``accounts.permissions``. The editor is
``frontend.views.billing_editor``; the forms on the invoice's and the proposal's pages post to
``frontend.views.billing_actions`` (``send/``, ``void/``, ``payments/``, ``credit-notes/``,
``withdraw/``, ``accept/``, ``decline/``) and ``pay/`` to ``billing.views_online``;
``docs/billing.md`` ("Pages") lists them and the services they call. Opening a sent invoice
or proposal as one of the client's people is recorded (``invoice_viewed``,
``proposal_viewed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.errors import Forbidden, NotFound
from accounts.http import signed_in_meta
from accounts.models import User
from accounts.permissions import BillingAction, DocumentAction
from accounts.services import two_factor
from billing import money, online
from billing.consent import CONSENT_TEXT
from billing.models import Invoice, Kind, Method, Proposal, ProposalStatus, Status
from billing.selectors import pages as billing_pages
from billing.selectors.json import invoice_json, payment_json, proposal_json
from billing.selectors.settings import profile_of, settings_get
from billing.services import invoices as invoice_services
from billing.services import lookups
from billing.services import proposals as proposal_services
from frontend.views.common import account_or_404

# The currencies the editor offers besides the firm's default and the document's own.
OFFERED_CURRENCIES = (
    *("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN"),
    *("JPY", "KWD"),  # no decimals, and three
)


def _prefix(name: str, sample: str) -> str:
    return reverse(name, args=[sample]).split(sample)[0]


def links() -> dict:
    """Rows name their links after these prefixes: no reverse() per row."""
    return {
        "invoice_url": _prefix("frontend:invoice", "inv_"),
        "proposal_url": _prefix("frontend:proposal", "pro_"),
        "account_url": _prefix("frontend:account", "acc_"),
    }


def staff_or_404(request: HttpRequest) -> None:
    if not request.user.is_firm_staff:
        raise Http404


def invoice_or_404(user: User, public_id: str, action=BillingAction.VIEW) -> Invoice:
    try:
        return lookups.invoice_for(user, public_id, action)
    except (NotFound, Forbidden):
        raise Http404 from None


def proposal_or_404(user: User, public_id: str, action=BillingAction.VIEW) -> Proposal:
    try:
        return lookups.proposal_for(user, public_id, action)
    except (NotFound, Forbidden):
        raise Http404 from None


# --- an account's billing -----------------------------------------------------------------


@login_required
@require_GET
@never_cache
def account_billing(request: HttpRequest, account_id: str) -> HttpResponse:
    """What the account owes first (per currency, what is overdue, the next due date), then
    its open invoices, its history and its proposals."""
    account = account_or_404(request.user, account_id)
    today = timezone.localdate()
    page = billing_pages.account_billing(
        request.user, account, today=today, cursor=request.GET.get("cursor", "")
    )
    if page is None:
        messages.error(request, "That link to older invoices is not valid; here are the newest.")
        page = billing_pages.account_billing(request.user, account, today=today)
    return render(
        request,
        "frontend/billing_account.html",
        {"page": page, "account": account, "today": today, **links()},
    )


# How many accounts the chooser of a client in several accounts lists.
CHOOSER_ACCOUNTS = 50


@login_required
@require_GET
def billing_home(request: HttpRequest) -> HttpResponse:
    """The menu's "Billing": the firm's people go to the receivables; a client to their
    account's billing, or chooses among their accounts when they have several."""
    if request.user.is_firm_staff:
        return redirect("frontend:receivables")
    accounts = list(
        permissions.accounts_visible_to(request.user)
        .order_by("name", "public_id")
        .only("public_id", "name")[: CHOOSER_ACCOUNTS + 1]
    )
    if len(accounts) == 1:
        return redirect("frontend:account_billing", account_id=accounts[0].public_id)
    return render(
        request,
        "frontend/billing_choose.html",
        {"accounts": accounts[:CHOOSER_ACCOUNTS], **links()},
    )


# --- the firm's receivables ---------------------------------------------------------------


@login_required
@require_GET
@never_cache
def receivables(request: HttpRequest) -> HttpResponse:
    """Every open invoice of the clients the staff member serves, overdue first, with the
    ageing buckets and what each client owes. Firm staff only."""
    staff_or_404(request)
    today = timezone.localdate()
    page = billing_pages.receivables(
        request.user, today=today, cursor=request.GET.get("cursor", "")
    )
    if page is None:
        messages.error(request, "That link to more of the list is not valid; here is its start.")
        page = billing_pages.receivables(request.user, today=today)
    return render(request, "frontend/receivables.html", {"page": page, **links()})


# --- an invoice -----------------------------------------------------------------------------


def _parties(invoice: Invoice | Proposal) -> tuple[dict, dict]:
    """Who the document is from and to: as sent, or for a draft as it would be sent now."""
    if invoice.status != Status.DRAFT and (invoice.seller or invoice.buyer):
        return invoice.seller or {}, invoice.buyer or {}
    return settings_get().details_json(), profile_of(invoice.account).details_json()


@dataclass(frozen=True)
class Failed:
    """A form of a page that was refused: which one (``name``), what was typed (``values``)
    and the errors at its fields (``errors``; ``"all"`` for the form as a whole)."""

    name: str
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


@login_required
@require_GET
@never_cache
def invoice_page(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The invoice (or credit note) as a document: parties, lines, tax per rate, totals and
    the balance due; its payments and credit notes; the PDF; and for the client a way to pay,
    for the account's team the actions on it. Clients never reach a draft (404). A client's
    person opening a sent one is recorded (``invoice_viewed``), once per GET."""
    invoice = invoice_or_404(request.user, invoice_id)
    if (
        request.method == "GET"
        and not request.user.is_firm_staff
        and invoice.status != Status.DRAFT
    ):
        invoice_services.invoice_viewed(
            viewer=request.user, invoice=invoice, meta=signed_in_meta(request)
        )
    return render_invoice(request, invoice)


def render_invoice(
    request: HttpRequest, invoice: Invoice, *, failed: Failed | None = None, status: int = 200
) -> HttpResponse:
    """The invoice's page; with ``failed``, the refused form open with its errors."""
    user = request.user
    today = timezone.localdate()
    data = invoice_json(invoice, today=today)
    currency = invoice.currency
    may_change = permissions.can_on_billing(user, BillingAction.CHANGE, invoice)
    credit_notes = invoice.credit_notes.order_by("created_at", "public_id")
    if not may_change:
        credit_notes = credit_notes.exclude(status=Status.DRAFT)
    billing_settings = settings_get()
    open_invoice = invoice.kind == Kind.INVOICE and invoice.status in (
        Status.SENT,
        Status.PARTIALLY_PAID,
    )
    seller, buyer = _parties(invoice)
    # Staff see how to pay as the client does, but pay nothing themselves.
    pay_options = (
        online.payment_options(invoice)
        if open_invoice and not may_change
        else {"checkout": None, "link": None}
    )
    return render(
        request,
        "frontend/invoice.html",
        {
            "invoice": invoice,
            "data": data,
            "seller": seller,
            "buyer": buyer,
            "status_words": billing_pages.STATUS_WORDS.get(data["status"], data["status"]),
            "amounts": {
                key: billing_pages.amount_text(getattr(invoice, key), currency)
                for key in ("subtotal", "tax", "total", "paid", "credited", "balance")
            },
            "days_late": (today - invoice.due_date).days if data["overdue"] else 0,
            "payments": [
                {**payment_json(p, currency), "method_words": p.get_method_display()}
                for p in invoice.payments.all()
            ],
            "credit_notes": list(credit_notes),
            "may_change": may_change,
            "open": open_invoice,
            "pay_options": pay_options,
            "pay_online": bool(pay_options["checkout"] or pay_options["link"]),
            "payment_terms": billing_settings.payment_terms,
            "methods": Method.choices,
            "today": today,
            "minor_units": money.minor_units(currency),
            "action_url": _prefix("frontend:invoice", "inv_") + invoice.public_id + "/",
            "pdf_url": data["pdf"],
            "failed": failed,
            "form": failed,
        },
        status=status,
    )


# --- a proposal -----------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def proposal_page(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """The proposal: title, scope document, lines and totals, validity and state; for a
    client admin on a sent proposal the accept and decline forms; for everyone else who
    decided and when, and the invoice made on acceptance. A client's person opening a sent
    one is recorded (``proposal_viewed``), once per GET."""
    proposal = proposal_or_404(request.user, proposal_id)
    if (
        request.method == "GET"
        and not request.user.is_firm_staff
        and proposal.status != ProposalStatus.DRAFT
    ):
        proposal_services.proposal_viewed(
            viewer=request.user, proposal=proposal, meta=signed_in_meta(request)
        )
    return render_proposal(request, proposal)


def render_proposal(
    request: HttpRequest, proposal: Proposal, *, failed: Failed | None = None, status: int = 200
) -> HttpResponse:
    """The proposal's page; with ``failed``, the refused form open with its errors."""
    user = request.user
    today = timezone.localdate()
    data = proposal_json(proposal, today=today)
    currency = proposal.currency
    may_decide = data["status"] == ProposalStatus.SENT and permissions.can_on_billing(
        user, BillingAction.ACCEPT, proposal
    )
    document = proposal.document
    seller, buyer = _parties(proposal)
    return render(
        request,
        "frontend/proposal.html",
        {
            "proposal": proposal,
            "data": data,
            "seller": seller,
            "buyer": buyer,
            "status_words": billing_pages.PROPOSAL_STATUS_WORDS.get(data["status"], data["status"]),
            "amounts": {
                key: billing_pages.amount_text(getattr(proposal, key), currency)
                for key in ("subtotal", "tax", "total")
            },
            "scope_document": document
            if document is not None
            and permissions.can_on_document(user, DocumentAction.VIEW, document)
            else None,
            "may_change": permissions.can_on_billing(user, BillingAction.CHANGE, proposal),
            "may_decide": may_decide,
            "consent_text": CONSENT_TEXT,
            "needs_code": may_decide and two_factor.enabled(user),
            "decided_by": proposal.decided_by,
            "action_url": _prefix("frontend:proposal", "pro_") + proposal.public_id + "/",
            "failed": failed,
            "form": failed,
            **links(),
        },
        status=status,
    )
