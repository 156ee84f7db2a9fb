"""``/api/v1/invoices/INV/payments`` (``docs/api.md``, "Invoices", "Payments"):
session-authenticated with CSRF; JSON bodies only; errors are JSON with stable codes;
missing and not visible are the same 404. The service holds every rule."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from accounts.errors import Invalid
from accounts.http import api_endpoint, refuse_nul, signed_in_meta
from accounts.permissions import BillingAction
from billing.models import Invoice
from billing.selectors.json import INVOICE_RELATED, invoice_json, payment_json
from billing.selectors.payments import payments_of
from billing.services import lookups
from billing.services.payments import payment_record

PAYMENT_FIELDS = {"amount", "method", "reference", "date"}


def _json_object(request: HttpRequest, allowed: set[str]) -> dict:
    """The body as a JSON object with no other fields than ``allowed``. Invalid: ``bad_json``
    for a body that is not a JSON object sent as application/json, ``nul_character``,
    ``unknown_field`` naming each field not taken here."""
    if request.content_type != "application/json":
        raise Invalid("Send a JSON object as application/json.", code="bad_json")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("The body is not valid JSON.", code="bad_json") from None
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", code="bad_json")
    refuse_nul(data)
    unknown = {str(name): "unknown" for name in data if name not in allowed}
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(sorted(unknown))}.", code="unknown_field", fields=unknown
        )
    return data


@api_endpoint("GET", "POST")
def payments(request: HttpRequest, invoice_id: str) -> HttpResponse:
    if request.method == "POST":
        return _record(request, invoice_id)
    invoice = lookups.invoice_for(request.user, invoice_id)
    rows = payments_of(request.user, invoice)
    return JsonResponse(
        {
            "invoice": invoice.public_id,
            "currency": invoice.currency,
            "payments": [payment_json(p, invoice.currency) for p in rows],
        }
    )


def _record(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = lookups.invoice_for(request.user, invoice_id, BillingAction.CHANGE)
    data = _json_object(request, PAYMENT_FIELDS)
    if "amount" not in data:
        raise Invalid("Give the amount received.", fields={"amount": "required"})
    if "method" not in data:
        raise Invalid("Give the method of payment.", fields={"method": "required"})
    payment = payment_record(
        actor=request.user,
        invoice=invoice,
        amount=data["amount"],
        method=data["method"],
        reference=data.get("reference", ""),
        date=data.get("date"),
        meta=signed_in_meta(request),
    )
    settled = (
        Invoice.objects.select_related(*INVOICE_RELATED)
        .prefetch_related("lines")
        .get(pk=invoice.pk)
    )
    return JsonResponse(
        {
            "payment": payment_json(payment, settled.currency),
            "invoice": invoice_json(settled, today=timezone.localdate()),
        },
        status=201,
    )
