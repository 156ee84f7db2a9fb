"""Invoices sent at the same moment, on PostgreSQL (where writers really run at once): the
numbers are 1..N with no gap and no duplicate, and a send that fails after taking its number
gives it back, so the next send takes it."""

from __future__ import annotations

import pytest
from django.db import connection

from billing import pdf
from billing.models import Invoice, Status
from billing.selectors.settings import settings_get
from billing.services import invoices as services
from tests.billing.conftest import draft, ledger_kinds
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

SENDERS = 8


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def _plain_numbers():
    billing_settings = settings_get()
    billing_settings.invoice_number_format = "{seq}"
    billing_settings.save()


def _send(actor, invoice):
    return lambda: services.invoice_send(actor=actor, invoice=invoice)


def test_concurrent_sends_take_every_number_once(acme, people):
    staff = people["staff_on_team"]
    drafts = [draft(staff, acme) for _ in range(SENDERS)]
    results = at_once(*(_send(staff, invoice) for invoice in drafts))
    assert all(isinstance(r, Invoice) for r in results), results
    numbers = sorted(int(n) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, SENDERS + 1))
    for invoice in drafts:
        assert ledger_kinds(invoice.public_id) == ["invoice.sent"]


def test_a_send_failing_after_its_number_leaves_no_gap(acme, people, monkeypatch):
    staff = people["staff_on_team"]
    doomed = draft(staff, acme, notes="doomed")
    others = [draft(staff, acme) for _ in range(SENDERS - 1)]
    render = pdf.render_invoice

    def fails_for_the_doomed(document, branding):
        if document.notes == "doomed":
            raise RuntimeError("the renderer failed")
        return render(document, branding)

    monkeypatch.setattr(pdf, "render_invoice", fails_for_the_doomed)
    results = at_once(_send(staff, doomed), *(_send(staff, invoice) for invoice in others))
    assert isinstance(results[0], RuntimeError)
    assert all(isinstance(r, Invoice) for r in results[1:]), results
    numbers = sorted(
        int(n) for n in Invoice.objects.exclude(number=None).values_list("number", flat=True)
    )
    assert numbers == list(range(1, SENDERS))
    doomed.refresh_from_db()
    assert doomed.status == Status.DRAFT and ledger_kinds(doomed.public_id) == []
    monkeypatch.setattr(pdf, "render_invoice", render)
    assert services.invoice_send(actor=staff, invoice=doomed).number == str(SENDERS)
