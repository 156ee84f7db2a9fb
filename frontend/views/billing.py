"""Billing pages: an account's billing (what is owed at a glance, then the history), an
invoice as a document the client pays from or downloads, the staff editor of a draft invoice
or proposal, the firm's receivables, and a proposal the client accepts or declines.

Thin: what the pages show comes from ``billing.selectors`` (``pages``, ``json``), who may see
what from ``billing.services.lookups`` and ``accounts.permissions``. The forms these pages
show post to the actions at the invoice's and the proposal's address (``send/``, ``void/``,
``payments/``, ``credit-notes/``, ``pay/``, ``accept/``, ``decline/``) and to the editor's own
address; ``docs/billing.md`` ("Pages") lists them and the services they call.
"""

from __future__ import annotations

from decimal import Decimal

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
from accounts.models import ClientAccount, User
from accounts.permissions import Action, BillingAction, DocumentAction
from accounts.services import two_factor
from billing import money, online
from billing.models import Invoice, Kind, Method, Proposal, ProposalStatus, Status
from billing.selectors import pages as billing_pages
from billing.selectors.json import invoice_json, payment_json, proposal_json
from billing.selectors.settings import profile_of, settings_get
from billing.services import lookups
from frontend.views.common import account_or_404

# The currencies the editor offers besides the firm's default and the document's own.
OFFERED_CURRENCIES = (
    *("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN"),
    *("JPY", "KWD"),  # no decimals, and three
)
# Blank lines the editor adds to a form, so that it works without JavaScript.
BLANK_LINES = 3

# What a client admin agrees to by accepting a proposal (shown by the checkbox; the
# acceptance records its hash).
CONSENT_TEXT = (
    "I accept this proposal on behalf of {account}: its scope, lines and total as shown "
    "here. Typing my name and confirming with my password is my signature."
)


def _prefix(name: str, sample: str) -> str:
    return reverse(name, args=[sample]).split(sample)[0]


def _links() -> dict:
    """Rows name their links after these prefixes: no reverse() per row."""
    return {
        "invoice_url": _prefix("frontend:invoice", "inv_"),
        "proposal_url": _prefix("frontend:proposal", "pro_"),
        "account_url": _prefix("frontend:account", "acc_"),
    }


def _staff_or_404(request: HttpRequest) -> None:
    if not request.user.is_firm_staff:
        raise Http404


def _invoice_or_404(user: User, public_id: str, action=BillingAction.VIEW) -> Invoice:
    try:
        return lookups.invoice_for(user, public_id, action)
    except (NotFound, Forbidden):
        raise Http404 from None


def _proposal_or_404(user: User, public_id: str, action=BillingAction.VIEW) -> Proposal:
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
        {"page": page, "account": account, "today": today, **_links()},
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
        {"accounts": accounts[:CHOOSER_ACCOUNTS], **_links()},
    )


# --- the firm's receivables ---------------------------------------------------------------


@login_required
@require_GET
@never_cache
def receivables(request: HttpRequest) -> HttpResponse:
    """Every open invoice of the clients the staff member serves, overdue first, with the
    ageing buckets and what each client owes. Firm staff only."""
    _staff_or_404(request)
    today = timezone.localdate()
    page = billing_pages.receivables(
        request.user, today=today, cursor=request.GET.get("cursor", "")
    )
    if page is None:
        messages.error(request, "That link to more of the list is not valid; here is its start.")
        page = billing_pages.receivables(request.user, today=today)
    return render(request, "frontend/receivables.html", {"page": page, **_links()})


# --- an invoice -----------------------------------------------------------------------------


def _parties(invoice: Invoice | Proposal) -> tuple[dict, dict]:
    """Who the document is from and to: as sent, or for a draft as it would be sent now."""
    if invoice.status != Status.DRAFT and (invoice.seller or invoice.buyer):
        return invoice.seller or {}, invoice.buyer or {}
    return settings_get().details_json(), profile_of(invoice.account).details_json()


@login_required
@require_GET
@never_cache
def invoice_page(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The invoice (or credit note) as a document: parties, lines, tax per rate, totals and
    the balance due; its payments and credit notes; the PDF; and for the client a way to pay,
    for the account's team the actions on it. Clients never reach a draft (404)."""
    user = request.user
    invoice = _invoice_or_404(user, invoice_id)
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
        },
    )


# --- the editor -------------------------------------------------------------------------------


def _currencies(*extra: str) -> dict[str, int]:
    """The currencies offered, each with its decimals (the editor computes with them)."""
    codes = [c for c in (*extra, *OFFERED_CURRENCIES) if c]
    return {code: money.minor_units(code) for code in dict.fromkeys(codes)}


def _line_rows(document: Invoice | Proposal | None) -> list[dict]:
    """The editor's rows: the document's lines, then blank ones."""
    rows = []
    if document is not None:
        currency = document.currency
        for line in document.lines.all():
            rows.append(
                {
                    "description": line.description,
                    "quantity": _plain(line.quantity),
                    "unit_price": _price(line.unit_price, currency),
                    "tax_rate": _plain(line.tax_rate),
                    "discount": _plain(line.discount) if line.discount else "",
                    "net": billing_pages.amount_text(line.net, currency),
                }
            )
    rows += [{"blank": True} for _ in range(BLANK_LINES if not rows else 1)]
    return rows


def _plain(value: Decimal) -> str:
    return format(value.normalize() + 0, "f")


def _price(value: Decimal, currency: str) -> str:
    if money.rounded(value, currency) == value:
        return money.text(value, currency)
    return _plain(value)


def _editor(
    request: HttpRequest,
    *,
    account: ClientAccount,
    kind: str,
    document: Invoice | Proposal | None,
) -> HttpResponse:
    billing_settings = settings_get()
    currency = document.currency if document is not None else billing_settings.default_currency
    zero = billing_pages.amount_text(Decimal(0), currency)
    figures = {"subtotal": zero, "tax": zero, "total": zero, "bands": []}
    if document is not None:
        figures = {
            key: billing_pages.amount_text(getattr(document, key), currency)
            for key in ("subtotal", "tax", "total")
        }
        data = (
            invoice_json(document, today=timezone.localdate())
            if kind == "invoice"
            else proposal_json(document, today=timezone.localdate())
        )
        figures["bands"] = data["taxes"]
    return render(
        request,
        "frontend/billing_editor.html",
        {
            "kind": kind,
            "account": account,
            "document": document,
            "currency": currency,
            "currencies": _currencies(currency, billing_settings.default_currency),
            "rows": _line_rows(document),
            "figures": figures,
            "terms_default": billing_settings.payment_terms,
            "max_lines": money.MAX_LINES,
            **_links(),
        },
    )


def _billed_account(request: HttpRequest) -> ClientAccount:
    """The account named by ``?account=``, if the user serves it; else 404."""
    _staff_or_404(request)
    account_id = request.GET.get("account", "")
    if not account_id:
        raise Http404
    account = account_or_404(request.user, account_id, Action.CHANGE)
    if not permissions.can_bill_account(request.user, account):
        raise Http404
    return account


@login_required
@require_GET
@never_cache
def invoice_new(request: HttpRequest) -> HttpResponse:
    """A new draft invoice for ``?account=``: the account's team and firm admins."""
    account = _billed_account(request)
    return _editor(request, account=account, kind="invoice", document=None)


@login_required
@require_GET
@never_cache
def invoice_edit(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """A draft's editor; a sent invoice goes back to its page (it is corrected by a credit
    note, never edited)."""
    invoice = _invoice_or_404(request.user, invoice_id, BillingAction.CHANGE)
    if invoice.status != Status.DRAFT:
        messages.info(request, "A sent invoice does not change: issue a credit note instead.")
        return redirect("frontend:invoice", invoice_id=invoice.public_id)
    return _editor(request, account=invoice.account, kind="invoice", document=invoice)


@login_required
@require_GET
@never_cache
def proposal_new(request: HttpRequest) -> HttpResponse:
    account = _billed_account(request)
    return _editor(request, account=account, kind="proposal", document=None)


@login_required
@require_GET
@never_cache
def proposal_edit(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = _proposal_or_404(request.user, proposal_id, BillingAction.CHANGE)
    if proposal.status != ProposalStatus.DRAFT:
        messages.info(request, "A sent proposal does not change: withdraw it and send another.")
        return redirect("frontend:proposal", proposal_id=proposal.public_id)
    return _editor(request, account=proposal.account, kind="proposal", document=proposal)


# --- a proposal -----------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def proposal_page(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """The proposal: title, scope document, lines and totals, validity and state; for a
    client admin on a sent proposal the accept and decline forms; for everyone else who
    decided and when, and the invoice made on acceptance."""
    user = request.user
    proposal = _proposal_or_404(user, proposal_id)
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
            "consent_text": CONSENT_TEXT.format(account=proposal.account.name),
            "needs_code": may_decide and two_factor.enabled(user),
            "decided_by": proposal.decided_by,
            "action_url": _prefix("frontend:proposal", "pro_") + proposal.public_id + "/",
            **_links(),
        },
    )
