"""The demo's billing: the firm's and Acme's billing details, Acme's invoices in each state a
first look should find (paid, partly paid and due soon, overdue, a draft) and a proposal
with a deposit, made through the services and made once."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.models import BillingProfile, Invoice, Payment, Proposal, ProposalStatus, Status
from billing.selectors.settings import settings_get
from billing.services.invoices import firm_today
from evidence.models import Entry
from frontend.management.commands import seed_demo

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def seeded(settings):
    settings.PRODUCTION = False
    seed()


def acme_invoices() -> dict[str, Invoice]:
    by_notes = {i.notes: i for i in Invoice.objects.filter(account__slug="acme")}
    return {fate: by_notes[notes] for notes, _lines, fate in seed_demo.INVOICES}


def test_the_firm_and_acme_have_billing_details(seeded):
    firm = settings_get()
    assert firm.legal_name == "Atrium Demo LLP"
    assert firm.vat_number == "GB980780684" and firm.country == "GB"
    assert "IBAN" in firm.payment_terms
    acme = BillingProfile.objects.get(account__slug="acme")
    assert acme.legal_name == "Acme Corporation GmbH"
    assert (acme.vat_number, acme.country) == ("DE136695976", "DE")


def test_acmes_invoices_are_in_every_state(seeded):
    today = firm_today()
    invoices = acme_invoices()
    assert Invoice.objects.count() == 4

    paid = invoices["paid"]
    assert paid.status == Status.PAID and paid.balance == 0 and paid.paid == paid.total

    part = invoices["part"]
    assert part.status == Status.PARTIALLY_PAID
    assert part.paid == Decimal(seed_demo.PART_PAID) and part.balance > 0
    assert part.due_date == today + timedelta(days=seed_demo.DUE_SOON_DAYS)
    assert not part.is_overdue(today)

    overdue = invoices["overdue"]
    assert overdue.status == Status.SENT and overdue.paid == 0
    assert overdue.due_date == today - timedelta(days=seed_demo.OVERDUE_DAYS)
    assert overdue.issue_date == overdue.due_date - timedelta(days=30)
    assert overdue.is_overdue(today)

    draft = invoices["draft"]
    assert draft.status == Status.DRAFT and draft.number is None and draft.pdf_version is None

    # Sent through the service: numbered in order of issue, printed, on the ledger.
    sent = [overdue, paid, part]
    assert [i.number for i in sent] == [f"INV-{today.year}-{n:05}" for n in (1, 2, 3)]
    for invoice in sent:
        assert invoice.pdf_version is not None and invoice.content_sha256
        assert Entry.objects.filter(subject=invoice.public_id, kind="invoice.sent").exists()
    assert Payment.objects.count() == 2


def test_acme_has_a_sent_proposal_with_a_deposit(seeded):
    proposal = Proposal.objects.get(account__slug="acme")
    assert proposal.title == seed_demo.PROPOSAL_TITLE
    assert proposal.status == ProposalStatus.SENT
    assert proposal.deposit_percent == Decimal(30)
    assert proposal.valid_until > firm_today() and proposal.content_sha256
    assert proposal.seller["legal_name"] == "Atrium Demo LLP"
    assert proposal.buyer["vat_number"] == "DE136695976"


def test_seeding_again_changes_no_billing(seeded):
    def state():
        return (
            list(Invoice.objects.order_by("pk").values("number", "status", "paid", "due_date")),
            Payment.objects.count(),
            list(Proposal.objects.values("status", "sent_at")),
            Entry.objects.count(),
            settings_get().updated_at,
            BillingProfile.objects.get().updated_at,
        )

    before = state()
    seed()
    assert state() == before


def test_seeding_again_keeps_details_changed_since(seeded):
    BillingProfile.objects.update(legal_name="Acme Corp. (renamed)")
    Invoice.objects.filter(status=Status.DRAFT).delete()
    seed()
    assert BillingProfile.objects.get().legal_name == "Acme Corp. (renamed)"
    # What was missing is made again.
    assert Invoice.objects.filter(status=Status.DRAFT).count() == 1
