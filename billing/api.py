"""``/api/v1/`` endpoints of invoices, credit notes and billing details (``docs/api.md``,
"Invoices"). Session-authenticated with CSRF on unsafe methods; JSON bodies; errors are JSON
with stable codes; missing and not visible are the same 404. Amounts travel as strings. The
services hold every rule; these views look up, call one and answer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from accounts import permissions
from accounts.errors import NotFound
from accounts.http import account_named, api_endpoint, body_fields, signed_in_meta
from accounts.permissions import BillingAction
from accounts.selectors import page_limit
from billing import details
from billing.selectors import invoices as selectors
from billing.selectors.json import invoice_json
from billing.selectors.settings import profile_of, settings_get
from billing.services import invoices as services
from billing.services import settings as settings_services
from billing.services.lookups import invoice_for

CREATE_FIELDS = {"account", "currency", "due", "lines", "notes", "terms"}
CREDIT_FIELDS = {"lines", "notes"}
PDF_TYPE = "application/pdf"


def _answer(invoice, *, status: int = 200) -> JsonResponse:
    return JsonResponse(invoice_json(invoice, today=timezone.localdate()), status=status)


@api_endpoint("GET", "POST")
def invoices(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    account = account_named(request.user, request.GET.get("account"), where="query")
    page = selectors.invoices_of(
        request.user,
        account,
        today=timezone.localdate(),
        status=request.GET.get("status"),
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse({"account": account.public_id, "invoices": page.rows, "next": page.next})


def _create(request: HttpRequest) -> HttpResponse:
    data = body_fields(request, CREATE_FIELDS)
    account = account_named(request.user, data.get("account"))
    created = services.invoice_create(
        actor=request.user,
        account=account,
        currency=data.get("currency"),
        lines=data.get("lines"),
        due=data.get("due"),
        notes=data.get("notes", ""),
        terms=data.get("terms", ""),
    )
    return _answer(created, status=201)


@api_endpoint("GET", "PATCH", "DELETE")
def invoice(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The invoice as JSON. Reading it here records nothing: a client's view is recorded by
    the invoice's page."""
    if request.method == "GET":
        return _answer(invoice_for(request.user, invoice_id))
    found = invoice_for(request.user, invoice_id, BillingAction.CHANGE)
    if request.method == "DELETE":
        services.invoice_delete(actor=request.user, invoice=found)
        return HttpResponse(status=204)
    data = body_fields(request, services.DRAFT_FIELDS, change=True)
    return _answer(services.invoice_update(actor=request.user, invoice=found, **data))


@api_endpoint("POST")
def send(request: HttpRequest, invoice_id: str) -> HttpResponse:
    found = invoice_for(request.user, invoice_id, BillingAction.CHANGE)
    body_fields(request, set())
    sent = services.invoice_send(actor=request.user, invoice=found, meta=signed_in_meta(request))
    return _answer(sent)


@api_endpoint("POST")
def void(request: HttpRequest, invoice_id: str) -> HttpResponse:
    found = invoice_for(request.user, invoice_id, BillingAction.CHANGE)
    data = body_fields(request, {"reason"})
    voided = services.invoice_void(
        actor=request.user,
        invoice=found,
        reason=data.get("reason"),
        meta=signed_in_meta(request),
    )
    return _answer(voided)


@api_endpoint("POST")
def credit_notes(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """A credit note correcting the invoice, sent at once; answers with the credit note."""
    found = invoice_for(request.user, invoice_id, BillingAction.CHANGE)
    data = body_fields(request, CREDIT_FIELDS)
    note = services.credit_note_issue(
        actor=request.user,
        invoice=found,
        lines=data.get("lines"),
        notes=data.get("notes", ""),
        meta=signed_in_meta(request),
    )
    return _answer(note, status=201)


def _pdf_headers(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@api_endpoint("GET")
def invoice_pdf(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The PDF as sent, decrypted from the vault as it streams (and recorded in the
    document's access log); for a draft, the firm's people get it printed now, marked
    "Draft" and stored nowhere."""
    found = invoice_for(request.user, invoice_id)
    if found.status == "draft":
        data = services.invoice_pdf_draft(actor=request.user, invoice=found)
        response = HttpResponse(data, content_type=PDF_TYPE)
        return _pdf_headers(response, f"draft-{found.public_id}.pdf")
    download = services.sent_pdf_open(
        actor=request.user, invoice=found, meta=signed_in_meta(request)
    )
    # An invoice's PDF is tens of kilobytes: read whole (decrypted and verified chunk by
    # chunk, the access record completed), it is answered the same under WSGI and ASGI.
    data = b"".join(download)
    response = HttpResponse(data, content_type=PDF_TYPE)
    response["X-Atrium-SHA256"] = download.version.sha256
    return _pdf_headers(response, f"{found.number}.pdf")


def _settings_json(found) -> dict:
    return {
        **found.details_json(),
        "invoice_number_format": found.invoice_number_format,
        "credit_note_number_format": found.credit_note_number_format,
        "default_currency": found.default_currency,
        "payment_terms_days": found.payment_terms_days,
        "payment_terms": found.payment_terms,
        "payment_link_template": found.payment_link_template,
        "reminder_days_before": found.reminder_days_before,
        "reminder_days_after": found.reminder_days_after,
        "updated_at": found.updated_at.isoformat() if found.updated_at else None,
    }


@api_endpoint("GET", "PATCH")
def billing_settings(request: HttpRequest) -> HttpResponse:
    """The firm's billing settings: the firm's people read them, its admins change them.
    A client gets 404 (nothing of the firm's configuration is theirs)."""
    if not request.user.is_firm_staff:
        raise NotFound
    if request.method == "PATCH":
        data = body_fields(request, settings_services.SETTINGS_FIELDS, change=True)
        return JsonResponse(
            _settings_json(settings_services.billing_settings_update(actor=request.user, **data))
        )
    return JsonResponse(_settings_json(settings_get()))


@api_endpoint("GET", "PATCH")
def account_billing(request: HttpRequest, account_id: str) -> HttpResponse:
    """The account's billing details: everyone who sees the account reads them; its admins
    and the firm's people on its team change them."""
    account = permissions.account_for(request.user, account_id)
    if request.method == "PATCH":
        data = body_fields(request, set(details.DETAIL_FIELDS), change=True)
        profile = settings_services.billing_profile_update(
            actor=request.user, account=account, **data
        )
    else:
        profile = profile_of(account)
    return JsonResponse({"account": account.public_id, **profile.details_json()})
