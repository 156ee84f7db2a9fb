"""The staff editor of a draft invoice or proposal: GET shows it, POST saves it through
``billing.services.invoices`` (``invoice_create``, ``invoice_update``) or
``billing.services.proposals`` (``proposal_create``, ``proposal_update``).

The form posts its lines as repeated fields (``description``, ``quantity``, ``unit_price``,
``tax_rate``, ``discount``, in order); a row left entirely empty is dropped. A refusal shows
the editor again (400) with what was typed and the error next to its field, on the line it
names; nothing is written.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import permissions
from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.http import refuse_nul
from accounts.models import ClientAccount, User
from accounts.permissions import Action, BillingAction
from billing import money
from billing.models import Invoice, Proposal, ProposalStatus, Status
from billing.selectors import pages as billing_pages
from billing.selectors.json import invoice_json, proposal_json
from billing.selectors.settings import settings_get
from billing.services import invoices as invoice_services
from billing.services import proposals as proposal_services
from frontend.views.billing import (
    OFFERED_CURRENCIES,
    invoice_or_404,
    links,
    proposal_or_404,
    staff_or_404,
)
from frontend.views.common import account_or_404
from vault import selectors as vault_selectors

# Blank lines the editor adds to a form, so that it works without JavaScript.
BLANK_LINES = 3
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate", "discount")
# How many of the account's documents the proposal's scope picker offers (newest first).
SCOPE_CHOICES = 200
# The editor's own fields, per kind: what a service error may name besides the lines.
FIELDS = {
    "invoice": ("currency", "due", "notes", "terms"),
    "proposal": ("title", "currency", "valid_until", "deposit_percent", "document", "notes"),
}


def _currencies(*extra: str) -> dict[str, int]:
    """The currencies offered, each with its decimals (the editor computes with them)."""
    codes = [c for c in (*extra, *OFFERED_CURRENCIES) if c]
    return {code: money.minor_units(code) for code in dict.fromkeys(codes)}


def _plain(value: Decimal) -> str:
    return format(value.normalize() + 0, "f")


def _price(value: Decimal, currency: str) -> str:
    if money.rounded(value, currency) == value:
        return money.text(value, currency)
    return _plain(value)


def _stored_rows(document: Invoice | Proposal | None) -> list[dict]:
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


def _posted_rows(data) -> list[dict]:
    """The rows as typed, in order (the lists are as long as the longest)."""
    columns = {name: data.getlist(name) for name in LINE_FIELDS}
    count = max((len(values) for values in columns.values()), default=0)
    return [
        {name: (values[i] if i < len(values) else "") for name, values in columns.items()}
        for i in range(count)
    ]


def _lines(rows: list[dict]) -> tuple[list[dict], list[int]]:
    """The lines to send to the service, without the empty rows, and for each line the
    index of its row (to put an error next to the line it names)."""
    lines, where = [], []
    for index, row in enumerate(rows):
        if not any(row[name].strip() for name in LINE_FIELDS):
            continue
        line = {name: row[name] for name in LINE_FIELDS if name != "discount"}
        if row["discount"].strip():
            line["discount"] = row["discount"]
        lines.append(line)
        where.append(index)
    return lines, where


def _place_errors(error: AtriumError, *, kind: str, rows: list[dict], where: list[int]) -> dict:
    """The service's refusal at the fields it names: ``lines[i].quantity`` at the row line i
    came from, the editor's own fields by name; anything else above the form."""
    errors: dict[str, str] = {}
    for name in error.fields or {}:
        if name.startswith("lines[") and "]" in name:
            number, _, field = name[len("lines[") :].partition("]")
            field = field.lstrip(".")
            if number.isdigit() and int(number) < len(where):
                row = rows[where[int(number)]]
                row.setdefault("errors", {})[field if field in LINE_FIELDS else "description"] = (
                    error.message
                )
                continue
        if name in FIELDS[kind]:
            errors[name] = error.message
            continue
        errors["all"] = error.message
    if not errors and not any("errors" in row for row in rows):
        errors["all"] = error.message
    return errors


def _scope_choices(user: User, account: ClientAccount) -> list:
    """The documents a proposal's scope may be: the account's, not privileged, with a
    version, that the staff member sees."""
    return list(
        vault_selectors.documents_visible(user, account)
        .filter(privileged=False, latest_version__isnull=False)
        .select_related(None)
        .only("public_id", "title")[:SCOPE_CHOICES]
    )


class EditorErrors(dict):
    """The editor's field errors (``form.errors`` for the pages' tests and templates)."""

    @property
    def errors(self) -> dict:
        return self


def _editor(
    request: HttpRequest,
    *,
    account: ClientAccount,
    kind: str,
    document: Invoice | Proposal | None,
    posted=None,
    rows: list[dict] | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    billing_settings = settings_get()
    currency = document.currency if document is not None else billing_settings.default_currency
    if posted is not None and posted.get("currency", "") in _currencies(
        currency, billing_settings.default_currency
    ):
        currency = posted["currency"]
    zero = billing_pages.amount_text(Decimal(0), currency)
    figures = {"subtotal": zero, "tax": zero, "total": zero, "bands": []}
    if document is not None and posted is None:
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
    if posted is None:
        values = _values(kind, document)
    else:
        values = {name: posted.get(name, "") for name in FIELDS[kind]}
    return render(
        request,
        "frontend/billing_editor.html",
        {
            "kind": kind,
            "account": account,
            "document": document,
            "values": values,
            "currency": currency,
            "currencies": _currencies(currency, billing_settings.default_currency),
            "rows": rows if rows is not None else _stored_rows(document),
            "figures": figures,
            "terms_default": billing_settings.payment_terms,
            "max_lines": money.MAX_LINES,
            "scope_choices": _scope_choices(request.user, account) if kind == "proposal" else [],
            "form": EditorErrors(errors or {}),
            **links(),
        },
        status=status,
    )


def _values(kind: str, document: Invoice | Proposal | None) -> dict:
    """The editor's fields as they stand (nothing for a new document)."""
    if document is None:
        return {}
    if kind == "invoice":
        return {
            "currency": document.currency,
            "due": document.due_date.isoformat() if document.due_date else "",
            "notes": document.notes,
            "terms": document.terms,
        }
    return {
        "title": document.title,
        "currency": document.currency,
        "valid_until": document.valid_until.isoformat() if document.valid_until else "",
        "deposit_percent": _plain(document.deposit_percent)
        if document.deposit_percent is not None
        else "",
        "document": document.document.public_id if document.document_id else "",
        "notes": document.notes,
    }


def _save(
    request: HttpRequest,
    *,
    account: ClientAccount,
    kind: str,
    document: Invoice | Proposal | None,
) -> HttpResponse:
    """POST: the typed fields to the service; the document's page after, or the editor
    again with the errors."""
    data = request.POST
    rows = _posted_rows(data)
    lines, where = _lines(rows)
    fields = {name: data.get(name, "") for name in FIELDS[kind]}
    try:
        refuse_nul(data)
        if kind == "invoice":
            if document is None:
                saved = invoice_services.invoice_create(
                    actor=request.user, account=account, lines=lines, **fields
                )
            else:
                saved = invoice_services.invoice_update(
                    actor=request.user, invoice=document, lines=lines, **fields
                )
        else:
            fields["document"] = fields["document"] or None
            if document is None:
                saved = proposal_services.proposal_create(
                    actor=request.user, account=account, lines=lines, **fields
                )
            else:
                saved = proposal_services.proposal_update(
                    actor=request.user, proposal=document, lines=lines, **fields
                )
    except NotFound:
        raise Http404 from None
    except Forbidden:
        raise PermissionDenied from None
    except AtriumError as error:
        errors = _place_errors(error, kind=kind, rows=rows, where=where)
        if not rows or len(rows) == len(where):
            rows.append({"blank": True})
        return _editor(
            request,
            account=account,
            kind=kind,
            document=document,
            posted=data,
            rows=rows,
            errors=errors,
            status=409 if error.status == 409 else 400,
        )
    messages.success(
        request,
        f"The draft {kind} is saved: {money.text(saved.total, saved.currency)} {saved.currency}.",
    )
    route = "frontend:invoice" if kind == "invoice" else "frontend:proposal"
    return redirect(route, saved.public_id)


def _billed_account(request: HttpRequest) -> ClientAccount:
    """The account named by ``?account=``, if the user serves it; else 404."""
    staff_or_404(request)
    account_id = request.GET.get("account", "") or request.POST.get("account", "")
    if not account_id:
        raise Http404
    account = account_or_404(request.user, account_id, Action.CHANGE)
    if not permissions.can_bill_account(request.user, account):
        raise Http404
    return account


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def invoice_new(request: HttpRequest) -> HttpResponse:
    """A new draft invoice for ``?account=``: the account's team and firm admins."""
    account = _billed_account(request)
    if request.method == "POST":
        return _save(request, account=account, kind="invoice", document=None)
    return _editor(request, account=account, kind="invoice", document=None)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def invoice_edit(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """A draft's editor; a sent invoice goes back to its page (it is corrected by a credit
    note, never edited)."""
    invoice = invoice_or_404(request.user, invoice_id, BillingAction.CHANGE)
    if invoice.status != Status.DRAFT:
        messages.info(request, "A sent invoice does not change: issue a credit note instead.")
        return redirect("frontend:invoice", invoice_id=invoice.public_id)
    if request.method == "POST":
        return _save(request, account=invoice.account, kind="invoice", document=invoice)
    return _editor(request, account=invoice.account, kind="invoice", document=invoice)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def proposal_new(request: HttpRequest) -> HttpResponse:
    """A new draft proposal for ``?account=``: the account's team and firm admins."""
    account = _billed_account(request)
    if request.method == "POST":
        return _save(request, account=account, kind="proposal", document=None)
    return _editor(request, account=account, kind="proposal", document=None)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def proposal_edit(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """A draft proposal's editor; a sent one goes back to its page."""
    proposal = proposal_or_404(request.user, proposal_id, BillingAction.CHANGE)
    if proposal.status != ProposalStatus.DRAFT:
        messages.info(request, "A sent proposal does not change: withdraw it and send another.")
        return redirect("frontend:proposal", proposal_id=proposal.public_id)
    if request.method == "POST":
        return _save(request, account=proposal.account, kind="proposal", document=proposal)
    return _editor(request, account=proposal.account, kind="proposal", document=proposal)
