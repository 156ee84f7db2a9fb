"""Paying online (``billing.online``): the client's button that starts Stripe Checkout, and
Stripe's webhook. Thin: they call ``billing.online`` and answer."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.errors import AtriumError, NotFound
from billing import online
from billing.selectors.json import invoice_url

log = logging.getLogger(__name__)


@login_required
@require_POST
def invoice_pay(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """POST (with the CSRF token) from the invoice's page: 303 to Stripe's Checkout page for
    the balance; back to the invoice's page with a message when it cannot be paid online."""
    try:
        address = online.checkout_start(actor=request.user, invoice_id=invoice_id)
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(invoice_url(invoice_id), status=303)
    response = HttpResponseRedirect(address)
    response.status_code = 303
    return response


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events, verified by their ``Stripe-Signature`` (no session, no CSRF token:
    the signature is the authentication). 400 for a bad or stale signature, 404 while
    Stripe is off, else 200, also for events that are ignored or refused (Stripe would
    retry anything else, and a refused payment will not be accepted on a retry)."""
    try:
        outcome = online.webhook_handle(request.body, request.headers.get("Stripe-Signature"))
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        return HttpResponse(error.code, status=error.status, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")
