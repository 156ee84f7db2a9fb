"""Recording money received against a sent invoice: by staff serving the account, or by a
payment provider whose webhook was verified (``actor`` None, ``external_id`` the provider's
id). Overpayment is refused; the invoice's status follows from what is paid and credited
(``billing.services.settle``).

Each payment is one ledger entry (``invoice.payment``: amount, method, reference, balance
after) and one thread event (``invoice.payment``) that notifies the account team, both in
the payment's transaction; the client's people get an e-mail receipt with a link to the
invoice once it committed (never an attachment).
"""

from __future__ import annotations

import logging
from datetime import date as Date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import Conflict, Invalid
from accounts.mail import send_branded_mail
from accounts.models import Membership, TeamAssignment, User
from accounts.permissions import BillingAction
from billing import events, money
from billing.models import Invoice, Kind, Method, Payment, Status
from billing.selectors.json import invoice_url, payment_json
from billing.services.lookups import invoice_for, invoice_locked
from billing.services.record import ledger_append, thread_post
from billing.services.settle import invoice_status_settle

log = logging.getLogger(__name__)

MAX_REFERENCE_CHARS = 200
MAX_EXTERNAL_ID_CHARS = 200


def _checked_method(value: object) -> str:
    if value not in Method.values:
        raise Invalid(f"method is one of {', '.join(Method.values)}.", fields={"method": "invalid"})
    return str(value)


def _checked_reference(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("reference is text.", fields={"reference": "invalid"})
    if "\x00" in value:
        raise Invalid(
            "Text may not contain NUL characters.",
            code="nul_character",
            fields={"reference": "nul_character"},
        )
    value = value.strip()
    if len(value) > MAX_REFERENCE_CHARS:
        raise Invalid(
            f"reference has at most {MAX_REFERENCE_CHARS} characters.",
            fields={"reference": "too_long"},
        )
    return value


def _checked_date(value: object, today: Date) -> Date:
    """The day the money arrived: a date or "YYYY-MM-DD", today by default, never later."""
    if value is None or value == "":
        return today
    if isinstance(value, Date):
        day = value
    elif isinstance(value, str):
        try:
            day = Date.fromisoformat(value.strip())
        except ValueError:
            day = None
        if day is None or len(value.strip()) != 10:
            raise Invalid('date is a day written "YYYY-MM-DD".', fields={"date": "invalid"})
    else:
        raise Invalid('date is a day written "YYYY-MM-DD".', fields={"date": "invalid"})
    if day > today:
        raise Invalid("A payment cannot be dated in the future.", fields={"date": "in_future"})
    return day


def _checked_amount(value: object, currency: str) -> Decimal:
    # The webhook hands a Decimal it computed; people hand the JSON string.
    if isinstance(value, Decimal):
        value = format(value, "f")
    return money.parse_amount(value, currency)


def account_team(invoice: Invoice) -> list[User]:
    """The active staff on the invoice's account team: who hears about a payment."""
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=TeamAssignment.objects.filter(account_id=invoice.account_id).values("user_id"),
        ).order_by("name", "pk")
    )


def client_people(invoice: Invoice) -> list[User]:
    """The active people of the invoice's client account: who gets receipts and reminders."""
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.filter(account_id=invoice.account_id).values("user_id"),
        ).order_by("name", "pk")
    )


def payable_check(invoice: Invoice) -> None:
    """Conflict unless money can be recorded against the invoice: ``void``, ``not_sent``
    (a draft), ``not_an_invoice`` (a credit note), ``paid`` (nothing left to pay)."""
    if invoice.kind != Kind.INVOICE:
        raise Conflict("A credit note is not paid.", code="not_an_invoice")
    if invoice.status == Status.VOID:
        raise Conflict("This invoice is void: nothing is paid on it.", code="void")
    if invoice.status == Status.DRAFT:
        raise Conflict("This invoice has not been sent yet.", code="not_sent")
    if invoice.status == Status.PAID or invoice.balance <= 0:
        raise Conflict("This invoice is paid in full.", code="paid")


def payment_record(
    *,
    actor: User | None,
    invoice: Invoice,
    amount: object,
    method: object,
    reference: object = "",
    date: object = None,
    external_id: str | None = None,
    meta: dict | None = None,
) -> Payment:
    """Record a payment of ``amount`` (in the invoice's currency, at most its balance) and
    settle the invoice's status. ``actor`` is staff serving the account, or None for a
    payment provider's verified webhook (then ``external_id`` is the provider's id: a
    repeated one returns the payment already recorded and writes nothing).

    Raises NotFound / Forbidden (``team_only``) for an actor who may not see / change the
    invoice; Invalid naming the field (``amount``: ``more_than_balance`` and
    ``billing.money.parse_amount``'s reasons; ``method``; ``reference``; ``date``:
    ``invalid``, ``in_future``); Conflict ``void``, ``not_sent``, ``not_an_invoice``,
    ``paid``."""
    if actor is not None:
        invoice = invoice_for(actor, invoice.public_id, BillingAction.CHANGE)
    if external_id is not None:
        if not isinstance(external_id, str) or not 0 < len(external_id) <= MAX_EXTERNAL_ID_CHARS:
            raise ValueError("external_id is the provider's id, 1 to 200 characters")
        known = Payment.objects.filter(external_id=external_id).first()
        if known is not None:
            return known
    method = _checked_method(method)
    reference = _checked_reference(reference)
    today = timezone.localdate()
    day = _checked_date(date, today)
    try:
        with transaction.atomic():
            locked = invoice_locked(invoice)
            if external_id is not None:
                # Two deliveries of one event wait on the same row lock; the second finds
                # the first's payment here.
                known = Payment.objects.filter(external_id=external_id).first()
                if known is not None:
                    return known
            payable_check(locked)
            paying = _checked_amount(amount, locked.currency)
            balance = locked.balance
            if paying > balance:
                raise Invalid(
                    f"The balance is {money.text(balance, locked.currency)} "
                    f"{locked.currency}: a payment cannot be more.",
                    fields={"amount": "more_than_balance"},
                )
            return _write(
                actor=actor,
                invoice=locked,
                amount=paying,
                method=method,
                reference=reference,
                day=day,
                external_id=external_id,
                meta=meta,
            )
    except IntegrityError:
        # The same provider id for another invoice, recorded concurrently: the first wins.
        if external_id is None:
            raise
        known = Payment.objects.filter(external_id=external_id).first()
        if known is None:
            raise
        return known


def _write(
    *,
    actor: User | None,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    reference: str,
    day: Date,
    external_id: str | None,
    meta: dict | None,
) -> Payment:
    currency = invoice.currency
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        date=day,
        method=method,
        reference=reference,
        external_id=external_id,
        recorded_by=actor,
    )
    invoice.paid += amount
    invoice.updated_at = timezone.now()
    changed = invoice_status_settle(invoice)
    invoice.save(update_fields=["paid", "updated_at", *changed])
    shown = payment_json(payment, currency)
    entry = ledger_append(
        document=invoice,
        actor=actor,
        kind=events.LEDGER_INVOICE_PAYMENT,
        meta=meta,
        payment={**shown, "external_id": external_id},
        amount=shown["amount"],
        method=method,
        reference=reference,
        balance_after=money.text(invoice.balance, currency),
    )
    payment.ledger_index = entry.index
    payment.save(update_fields=["ledger_index"])
    left = (
        "paid in full"
        if invoice.status == Status.PAID
        else f"{money.text(invoice.balance, currency)} {currency} left to pay"
    )
    what = f"{actor.name} recorded a payment of" if actor is not None else "An online payment of"
    summary = f"{what} {shown['amount']} {currency} on {invoice.number}: {left}"
    thread_post(
        document=invoice,
        event_type=events.INVOICE_PAYMENT,
        actor=actor,
        summary=summary,
        notify=account_team(invoice),
        payment=shown,
    )
    transaction.on_commit(lambda: receipt_send(payment.pk))
    return payment


def receipt_send(payment_pk: int) -> int:
    """E-mail the client's people a receipt for the payment, with a link to the invoice;
    returns how many were sent. A mail outage is logged, never raised: the payment stands."""
    payment = Payment.objects.select_related("invoice", "invoice__account").get(pk=payment_pk)
    invoice = payment.invoice
    url = settings.ATRIUM_BASE_URL.rstrip("/") + invoice_url(invoice.public_id)
    sent = 0
    for person in client_people(invoice):
        try:
            send_branded_mail(
                to=[person.email],
                subject=f"Payment received for invoice {invoice.number}",
                template="billing/email/payment_receipt",
                context={
                    "person": person,
                    "invoice": invoice,
                    "payment": payment,
                    "amount": money.text(payment.amount, invoice.currency),
                    "balance": money.text(invoice.balance, invoice.currency),
                    "url": url,
                },
            )
        except Exception:
            log.exception(
                "e-mailing the receipt of %s to %s failed", payment.public_id, person.public_id
            )
            continue
        sent += 1
    return sent
