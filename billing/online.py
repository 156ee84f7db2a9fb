"""Paying an invoice online: the firm's payment link, and Stripe Checkout.

- **The payment link** (``BillingSettings.payment_link_template``): an https URL with any of
  ``{invoice}``, ``{number}``, ``{amount}`` (the balance), ``{currency}``, filled in and
  URL-quoted by ``pay_url``. Nothing is recorded by it: staff record what arrives.
- **Stripe Checkout**, on only when ``ATRIUM_STRIPE_SECRET_KEY`` and
  ``ATRIUM_STRIPE_WEBHOOK_SECRET`` are both set. ``checkout_start`` makes a Checkout Session
  for the balance; Stripe calls the webhook (``webhook_handle``) when it is paid, whose
  signature is verified with the secret (``stripe.Webhook.construct_event``), and the money
  is recorded by ``payment_record`` with no person as the actor and the session's id as the
  payment's ``external_id`` (a repeated delivery is stored once).

A provider's payment that cannot be recorded (more than the balance, an invoice paid, void
or unknown meanwhile, another currency) is money received that the books refuse: it is
logged as an error, the account team is e-mailed to settle it by hand (a refund or a credit),
and Stripe is answered 200 so that it stops retrying what will never succeed.
"""

from __future__ import annotations

import logging
import string
from decimal import Decimal
from urllib.parse import quote, urlsplit

import stripe
from django.conf import settings

from accounts.errors import AtriumError, Conflict, Invalid, NotFound
from accounts.mail import send_branded_mail
from accounts.models import FirmRole, User
from billing import money
from billing.models import Invoice, Method
from billing.selectors.json import invoice_url
from billing.selectors.settings import settings_get
from billing.services.lookups import invoice_for
from billing.services.payments import account_team, payable_check, payment_record

log = logging.getLogger(__name__)

# --- the payment link --------------------------------------------------------------------

PLACEHOLDERS = ("invoice", "number", "amount", "currency")
MAX_TEMPLATE_CHARS = 500
FIELD = "payment_link_template"


def _refused(message: str, reason: str) -> Invalid:
    return Invalid(message, fields={FIELD: reason})


def payment_link_template_checked(value: object) -> str:
    """A payment link template as the firm's settings keep it: "" (no link), or an https
    URL of at most 500 characters whose only placeholders are ``{invoice}``, ``{number}``,
    ``{amount}`` and ``{currency}``, each bare (no format spec, conversion or index).

    Raises Invalid naming ``payment_link_template``: ``invalid`` (not text, or braces that
    do not pair), ``nul_character``, ``too_long``, ``unknown_placeholder``, ``not_https``
    (another scheme, or no host)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _refused("The payment link is text.", "invalid")
    if "\x00" in value:
        raise _refused("Text may not contain NUL characters.", "nul_character")
    value = value.strip()
    if not value:
        return ""
    if len(value) > MAX_TEMPLATE_CHARS:
        raise _refused(f"The payment link has at most {MAX_TEMPLATE_CHARS} characters.", "too_long")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise _refused("The payment link has a brace that does not pair.", "invalid") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise _refused(
                "The payment link may hold {invoice}, {number}, {amount} and {currency} only.",
                "unknown_placeholder",
            )
    sample = value.format(invoice="inv_x", number="INV-1", amount="1.00", currency="EUR")
    address = urlsplit(sample)
    if address.scheme != "https" or not address.hostname or any(c.isspace() for c in sample):
        raise _refused("The payment link is an https:// address.", "not_https")
    return value


def pay_url(invoice: Invoice) -> str | None:
    """The firm's payment link for the invoice's balance, or None: no link configured, or
    nothing to pay (a draft, void, paid invoice or a credit note). A stored template that is
    no longer valid gives None and is logged."""
    template = settings_get().payment_link_template
    if not template or not _payable(invoice):
        return None
    try:
        checked = payment_link_template_checked(template)
    except Invalid:
        log.error("the payment link template in the billing settings is not valid: ignored")
        return None
    return checked.format(
        invoice=quote(invoice.public_id, safe=""),
        number=quote(invoice.number or "", safe=""),
        amount=money.text(invoice.balance, invoice.currency),
        currency=invoice.currency,
    )


def _payable(invoice: Invoice) -> bool:
    try:
        payable_check(invoice)
    except Conflict:
        return False
    return True


# --- Stripe Checkout ---------------------------------------------------------------------

# Stripe's own rules for amounts in minor units (docs.stripe.com/currencies): these are
# charged in whole units whatever ISO 4217 says...
STRIPE_ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# ...these in thousandths, whose last digit must be 0 (a multiple of 10)...
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# ...and the Icelandic króna, without decimals in ISO 4217, in hundredths for Stripe.
STRIPE_TWO_DECIMAL = frozenset({"ISK"})

CHECKOUT_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)


class ProviderUnavailable(AtriumError):
    """The payment provider did not answer as it should: nothing changed, try again."""

    code = "provider_unavailable"
    status = 502
    default_message = "The payment provider is not available right now; try again later."


def stripe_enabled() -> bool:
    """Whether Stripe Checkout is on: both keys are set in the environment."""
    return bool(settings.ATRIUM_STRIPE_SECRET_KEY and settings.ATRIUM_STRIPE_WEBHOOK_SECRET)


def stripe_exponent(currency: str) -> int:
    """The decimals of ``currency`` in Stripe's amounts."""
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    if currency in STRIPE_TWO_DECIMAL:
        return 2
    return money.minor_units(currency)


def stripe_amount(amount: Decimal, currency: str) -> int:
    """``amount`` as the integer Stripe expects (1200 for 12.00 EUR, 1200 for 1,200 JPY,
    12340 for 12.340 KWD). Conflict ``not_payable_online`` for an amount Stripe cannot
    charge exactly: a three-decimal currency's amount not a multiple of 0.010, a fraction
    of a unit Stripe charges whole."""
    exponent = stripe_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value() or (
        currency in STRIPE_THREE_DECIMAL and int(scaled) % 10
    ):
        raise Conflict(
            "This amount cannot be paid online exactly; pay it by transfer.",
            code="not_payable_online",
        )
    return int(scaled)


def from_stripe_amount(value: int, currency: str) -> Decimal:
    """The inverse of ``stripe_amount``."""
    return Decimal(value).scaleb(-stripe_exponent(currency))


def stripe_client() -> stripe.StripeClient:
    """The client every call goes through (tests hand it an HTTP client of their own)."""
    return stripe.StripeClient(settings.ATRIUM_STRIPE_SECRET_KEY, max_network_retries=2)


def _absolute(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def checkout_start(*, actor: User, invoice_id: object) -> str:
    """A Stripe Checkout Session for the balance of the invoice, for someone who may see it;
    returns the address to send them to. NotFound when Stripe is off or the invoice is not
    visible; Conflict from ``payable_check`` (nothing to pay) or ``not_payable_online``;
    ProviderUnavailable when Stripe refuses or does not answer."""
    if not stripe_enabled():
        raise NotFound
    invoice = invoice_for(actor, invoice_id)
    payable_check(invoice)
    currency = invoice.currency
    balance = invoice.balance
    page = _absolute(invoice_url(invoice.public_id))
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": stripe_amount(balance, currency),
                    "product_data": {"name": f"Invoice {invoice.number}"},
                },
            }
        ],
        "client_reference_id": invoice.public_id,
        "metadata": {"invoice": invoice.public_id, "number": invoice.number},
        "payment_intent_data": {
            "metadata": {"invoice": invoice.public_id, "number": invoice.number}
        },
        "customer_email": actor.email,
        "success_url": f"{page}?paid=online",
        "cancel_url": page,
    }
    try:
        session = stripe_client().v1.checkout.sessions.create(params=params)
    except stripe.StripeError as error:
        log.error(
            "creating a Stripe Checkout Session for %s failed: %s",
            invoice.public_id,
            type(error).__name__,
        )
        raise ProviderUnavailable from None
    if not getattr(session, "url", None):
        log.error("Stripe answered a Checkout Session without a url for %s", invoice.public_id)
        raise ProviderUnavailable
    log.info(
        "Stripe Checkout Session %s for %s: %s %s",
        session["id"],
        invoice.public_id,
        money.text(balance, currency),
        currency,
    )
    return session.url


def webhook_handle(payload: bytes, signature: str | None) -> str:
    """Verify a Stripe event and act on it; returns what was done (``recorded``,
    ``ignored``, ``not_paid``, ``refused``) for the log. Invalid ``bad_signature`` (nothing
    written) for a payload whose ``Stripe-Signature`` does not match the webhook secret, is
    older than five minutes, or is not an event; NotFound when Stripe is off."""
    if not stripe_enabled():
        raise NotFound
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.ATRIUM_STRIPE_WEBHOOK_SECRET,
            api_key=settings.ATRIUM_STRIPE_SECRET_KEY,
        )
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        log.warning("a Stripe webhook was refused: %s", str(error).split(" (")[0][:120])
        raise Invalid("The signature does not match.", code="bad_signature") from None
    if event.type not in CHECKOUT_EVENTS:
        log.info("Stripe event %s (%s) ignored", event.id, event.type)
        return "ignored"
    session = event.data.object.to_dict()
    if not isinstance(session.get("id"), str) or not 0 < len(session["id"]) <= 200:
        log.error("Stripe event %s carries no Checkout Session id: ignored", event.id)
        return "ignored"
    if session.get("payment_status") != "paid":
        log.info("Stripe Checkout Session %s completed unpaid: nothing recorded", session["id"])
        return "not_paid"
    return _session_record(session)


def _session_record(session: dict) -> str:
    metadata = session.get("metadata") or {}
    public_id = metadata.get("invoice") or session.get("client_reference_id") or ""
    invoice = (
        Invoice.objects.select_related("account", "corrects", "thread")
        .filter(public_id=public_id)
        .first()
    )
    currency = str(session.get("currency") or "").upper()
    paid = session.get("amount_total")
    if invoice is None:
        _unrecorded(None, session, "it names no invoice of ours")
        return "refused"
    if currency != invoice.currency or not isinstance(paid, int):
        _unrecorded(invoice, session, f"it was paid in {currency or 'no currency'}")
        return "refused"
    amount = from_stripe_amount(paid, currency)
    try:
        payment = payment_record(
            actor=None,
            invoice=invoice,
            amount=amount,
            method=Method.ONLINE,
            reference=str(session.get("payment_intent") or "")[:200],
            external_id=session["id"],
        )
    except (Invalid, Conflict) as error:
        reason = (
            "it is more than the balance"
            if error.fields.get("amount") == "more_than_balance"
            else f"the invoice cannot take it ({error.code})"
        )
        _unrecorded(invoice, session, reason)
        return "refused"
    log.info("Stripe Checkout Session %s recorded as %s", session["id"], payment.public_id)
    return "recorded"


def _unrecorded(invoice: Invoice | None, session: dict, reason: str) -> None:
    """Money arrived that the books refuse: log it and tell the people who can settle it by
    hand (the account team, or the firm's admins when there is no invoice or no team)."""
    amount = session.get("amount_total")
    currency = str(session.get("currency") or "").upper()
    log.error(
        "Stripe Checkout Session %s (%s %s) for %s was paid but not recorded: %s",
        session["id"],
        amount,
        currency,
        invoice.public_id if invoice is not None else "no invoice",
        reason,
    )
    people = account_team(invoice) if invoice is not None else []
    if not people:
        people = list(User.objects.filter(is_active=True, firm_role=FirmRole.ADMIN))
    shown = (
        f"{money.text(from_stripe_amount(amount, currency), currency)} {currency}"
        if isinstance(amount, int) and _known_currency(currency)
        else f"{amount} {currency}"
    )
    for person in people:
        try:
            send_branded_mail(
                to=[person.email],
                subject="An online payment could not be recorded",
                template="billing/email/payment_unrecorded",
                context={
                    "person": person,
                    "invoice": invoice,
                    "amount": shown,
                    "session": session["id"],
                    "payment_intent": session.get("payment_intent") or "",
                    "reason": reason,
                    "url": _absolute(invoice_url(invoice.public_id))
                    if invoice is not None
                    else None,
                },
            )
        except Exception:
            log.exception("telling %s of an unrecorded payment failed", person.public_id)


def _known_currency(currency: str) -> bool:
    try:
        money.minor_units(currency)
    except KeyError:
        return False
    return True


def payment_options(invoice: Invoice) -> dict:
    """What the invoice's page offers its client: ``checkout`` (the address to POST to for
    Stripe Checkout, or None) and ``link`` (the firm's payment link, or None)."""
    payable = _payable(invoice)
    return {
        "checkout": f"{invoice_url(invoice.public_id)}pay"
        if payable and stripe_enabled()
        else None,
        "link": pay_url(invoice) if payable else None,
    }
