"""The actions of the invoice's and the proposal's pages: each form posts to an address under
the document's own and calls one service (docs/billing.md, "Pages"), with where the request
came from (``signed_in_meta``) where the service records evidence.

Done: a message and back to the page (302). Refused: the page again with the form open, what
was typed kept (never a password) and the error at the field it names (400), or as a message
above the page when the document's state forbids it (409: its form may be gone) or the
person must wait (429); nothing is written. Someone who may not see the
document gets 404, someone who sees it but may not do this 403.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.http import refuse_nul, signed_in_meta
from billing import money
from billing.models import Invoice, Proposal
from billing.services import invoices as invoice_services
from billing.services import payments as payment_services
from billing.services import proposals as proposal_services
from frontend.views.billing import (
    Failed,
    invoice_or_404,
    proposal_or_404,
    render_invoice,
    render_proposal,
)

# What each form shows as its fields: a service's error naming another field is shown above
# the form. The credit note's one line is the service's ``lines[0]``.
FORM_FIELDS = {
    "send": (),
    "void": ("reason",),
    "payment": ("amount", "date", "method", "reference"),
    "credit_note": ("description", "unit_price", "tax_rate", "notes"),
    "withdraw": ("reason",),
    "accept": ("consent", "name", "password", "code"),
    "decline": ("reason",),
}
# Typed values that never come back in the page.
SECRET_FIELDS = frozenset({"password", "code"})


def _field_of(name: str) -> str:
    """``lines[0].unit_price`` → ``unit_price``; ``total`` (a credit note's) → its amount."""
    if name.startswith("lines[") and "." in name:
        return name.rsplit(".", 1)[1]
    return {"total": "unit_price"}.get(name, name)


def _failed(form: str, request: HttpRequest, error: AtriumError) -> Failed:
    shown = FORM_FIELDS[form]
    errors: dict[str, str] = {}
    for name in error.fields or {}:
        field = _field_of(name)
        errors[field if field in shown else "all"] = error.message
    if not errors:
        errors["all"] = error.message
    values = {k: v for k, v in request.POST.items() if k in shown and k not in SECRET_FIELDS}
    return Failed(name=form, values=values, errors=errors)


def _status(error: AtriumError) -> int:
    return error.status if error.status in (409, 429) else 400


def _act(
    request: HttpRequest,
    *,
    form: str,
    document: Invoice | Proposal,
    work: Callable[[], str],
) -> HttpResponse:
    """Run ``work`` (the service call; returns the success message) and answer."""
    is_invoice = isinstance(document, Invoice)
    try:
        refuse_nul(request.POST)
        said = work()
    except NotFound:
        raise Http404 from None
    except Forbidden:
        raise PermissionDenied from None
    except AtriumError as error:
        failed = _failed(form, request, error)
        if error.status in (409, 429):
            # The document's state changed (its form may be gone) or the person must wait:
            # said above the page, not at a field.
            messages.error(request, error.message)
            failed = Failed(name=form, values=failed.values)
        page = render_invoice if is_invoice else render_proposal
        return page(request, document, failed=failed, status=_status(error))
    messages.success(request, said)
    return redirect("frontend:invoice" if is_invoice else "frontend:proposal", document.public_id)


# --- an invoice -----------------------------------------------------------------------------


@login_required
@require_POST
def invoice_send(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = invoice_or_404(request.user, invoice_id)

    def work() -> str:
        sent = invoice_services.invoice_send(
            actor=request.user, invoice=invoice, meta=signed_in_meta(request)
        )
        return f"Invoice {sent.number} is sent: the client's people have been told."

    return _act(request, form="send", document=invoice, work=work)


@login_required
@require_POST
def invoice_void(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = invoice_or_404(request.user, invoice_id)

    def work() -> str:
        voided = invoice_services.invoice_void(
            actor=request.user,
            invoice=invoice,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
        return f"Invoice {voided.number} is void; the client's people have been told."

    return _act(request, form="void", document=invoice, work=work)


@login_required
@require_POST
def invoice_payment(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = invoice_or_404(request.user, invoice_id)

    def work() -> str:
        payment = payment_services.payment_record(
            actor=request.user,
            invoice=invoice,
            amount=request.POST.get("amount", "").strip(),
            method=request.POST.get("method", ""),
            reference=request.POST.get("reference", ""),
            date=request.POST.get("date", ""),
            meta=signed_in_meta(request),
        )
        amount = money.text(payment.amount, invoice.currency)
        return f"Payment of {amount} {invoice.currency} recorded."

    return _act(request, form="payment", document=invoice, work=work)


@login_required
@require_POST
def invoice_credit_note(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = invoice_or_404(request.user, invoice_id)
    data = request.POST

    def work() -> str:
        note = invoice_services.credit_note_issue(
            actor=request.user,
            invoice=invoice,
            lines=[
                {
                    "description": data.get("description", ""),
                    "quantity": data.get("quantity", "1").strip() or "1",
                    "unit_price": data.get("unit_price", "").strip(),
                    "tax_rate": data.get("tax_rate", "").strip(),
                }
            ],
            notes=data.get("notes", ""),
            meta=signed_in_meta(request),
        )
        total = money.text(note.total, note.currency)
        return f"Credit note {note.number} issued for {total} {note.currency}."

    return _act(request, form="credit_note", document=invoice, work=work)


# --- a proposal -----------------------------------------------------------------------------


@login_required
@require_POST
def proposal_send(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = proposal_or_404(request.user, proposal_id)

    def work() -> str:
        proposal_services.proposal_send(
            actor=request.user, proposal=proposal, meta=signed_in_meta(request)
        )
        return "The proposal is sent: the client's admins have been told."

    return _act(request, form="send", document=proposal, work=work)


@login_required
@require_POST
def proposal_withdraw(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = proposal_or_404(request.user, proposal_id)

    def work() -> str:
        proposal_services.proposal_withdraw(
            actor=request.user,
            proposal=proposal,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
        return "The proposal is withdrawn; the client's admins have been told."

    return _act(request, form="withdraw", document=proposal, work=work)


@login_required
@require_POST
def proposal_accept(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = proposal_or_404(request.user, proposal_id)
    data = request.POST

    def work() -> str:
        proposal_services.proposal_accept(
            actor=request.user,
            proposal=proposal,
            # The checkbox sends "1" when ticked, nothing otherwise.
            consent=data.get("consent", "") == "1",
            name=data.get("name", ""),
            password=data.get("password", ""),
            code=data.get("code", "").strip() or None,
            content_sha256=data.get("content_sha256") or None,
            meta=signed_in_meta(request),
        )
        return "You accepted the proposal; the firm has been told."

    return _act(request, form="accept", document=proposal, work=work)


@login_required
@require_POST
def proposal_decline(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = proposal_or_404(request.user, proposal_id)

    def work() -> str:
        proposal_services.proposal_decline(
            actor=request.user,
            proposal=proposal,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
        return "You declined the proposal; the firm has been told."

    return _act(request, form="decline", document=proposal, work=work)
