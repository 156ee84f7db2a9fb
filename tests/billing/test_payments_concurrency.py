"""Payments at the same moment, on PostgreSQL (where writers really run at once): two staff
payments that together exceed the balance are judged one after the other (the invoice's row
lock), so one is recorded and the other refused as more than the balance; two deliveries of
one provider payment are stored once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.errors import Invalid
from billing.models import Invoice, Payment, Status
from billing.services.payments import payment_record
from evidence.models import Entry
from tests import factories
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def sent(acme, people):
    return factories.invoice(
        acme, by=people["staff_on_team"], sent=True, due=timezone.localdate() + timedelta(1)
    )


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_two_payments_over_the_balance_at_once(sent, people, attempt):
    def pay(person):
        return lambda: payment_record(
            actor=person, invoice=sent, amount="700.00", method="bank_transfer"
        )

    results = at_once(pay(people["staff_on_team"]), pay(people["firm_admin"]))
    recorded = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(recorded) == 1 and len(refused) == 1, results
    assert refused[0].fields == {"amount": "more_than_balance"}
    stored = Invoice.objects.get(pk=sent.pk)
    assert (stored.paid, stored.status) == (Decimal("700.00"), Status.PARTIALLY_PAID)
    assert Entry.objects.filter(kind="invoice.payment", subject=sent.public_id).count() == 1


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_one_provider_payment_delivered_twice_at_once(sent, attempt):
    def deliver():
        return payment_record(
            actor=None,
            invoice=sent,
            amount="1200.00",
            method="online",
            external_id=f"cs_test_twice_{attempt}",
        )

    first, second = at_once(deliver, deliver)
    assert isinstance(first, Payment) and isinstance(second, Payment), (first, second)
    assert first.pk == second.pk
    assert Payment.objects.filter(invoice=sent).count() == 1
    assert Invoice.objects.get(pk=sent.pk).status == Status.PAID
    assert Entry.objects.filter(kind="invoice.payment", subject=sent.public_id).count() == 1
