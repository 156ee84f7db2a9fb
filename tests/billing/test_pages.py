"""The billing pages' reads: what an account owes and its history, and the firm's
receivables in ageing buckets, each in a number of queries that does not grow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import ProposalStatus, Status
from billing.selectors import pages
from tests import factories
from tests.billing.helpers import days, proposal, sent_invoice, today


@pytest.fixture
def staff(people):
    return people["staff_on_team"]


def test_an_account_owes_the_balances_of_its_open_invoices_per_currency(acme, people, staff):
    sent_invoice(acme, by=staff, amount="1000.00", due=days(-10), paid="400.00")
    sent_invoice(acme, by=staff, amount="840.00", due=days(5))
    sent_invoice(acme, by=staff, amount="300.00", due=days(20))
    sent_invoice(acme, by=staff, amount="5000", currency="JPY", due=days(3))
    sent_invoice(acme, by=staff, amount="999.00", status=Status.PAID, paid="999.00")
    sent_invoice(acme, by=staff, amount="50.00", status=Status.VOID)
    factories.invoice(acme, by=staff)  # a draft owes nothing

    page = pages.account_billing(people["client_admin"], acme, today=today())
    owed = {o.currency: o for o in page.owed}
    assert owed["EUR"].balance == Decimal("1740.00")
    assert owed["EUR"].balance_text == "1,740.00"
    assert owed["EUR"].overdue == Decimal("600.00")
    assert owed["EUR"].next_due == days(5)
    assert owed["JPY"].balance_text == "5,000" and owed["JPY"].overdue == 0
    assert page.owes_anything


def test_open_invoices_come_most_overdue_first_and_the_history_holds_the_rest(acme, people, staff):
    soon = sent_invoice(acme, by=staff, due=days(2), number="SOON")
    late = sent_invoice(acme, by=staff, due=days(-3), number="LATE")
    later = sent_invoice(acme, by=staff, due=days(-40), number="LATER")
    paid = sent_invoice(acme, by=staff, paid="100.00", number="PAID")
    draft = factories.invoice(acme, by=staff)

    as_client = pages.account_billing(people["client_member"], acme, today=today())
    assert [r.invoice for r in as_client.open] == [later, late, soon]
    assert [r.status for r in as_client.open] == ["overdue", "overdue", "sent"]
    assert as_client.open[0].days_late == 40
    assert [r.invoice for r in as_client.history] == [paid]
    assert not as_client.may_bill

    as_team = pages.account_billing(staff, acme, today=today())
    assert [r.invoice for r in as_team.history] == [draft, paid]
    assert as_team.may_bill


def test_clients_never_see_draft_proposals(acme, people, staff):
    shown = proposal(acme, by=staff, title="Sent one")
    expired = proposal(acme, by=staff, title="Old one", valid_until=days(-1))
    proposal(acme, by=staff, title="Draft one", status=ProposalStatus.DRAFT)

    rows = pages.account_billing(people["client_admin"], acme, today=today()).proposals
    assert {r.proposal for r in rows} == {shown, expired}
    assert {r.proposal.title: r.status for r in rows}["Old one"] == "expired"
    rows = pages.account_billing(staff, acme, today=today()).proposals
    assert len(rows) == 3


def test_the_history_comes_in_pages(acme, people, staff, monkeypatch):
    monkeypatch.setattr(pages, "HISTORY_PAGE", 2)
    made = [sent_invoice(acme, by=staff, paid="100.00", number=f"P{n}") for n in range(5)]
    seen, cursor = [], ""
    while True:
        page = pages.account_billing(staff, acme, today=today(), cursor=cursor)
        seen += [r.invoice for r in page.history]
        if not page.history_next:
            break
        cursor = page.history_next
    assert seen == list(reversed(made))
    assert pages.account_billing(staff, acme, today=today(), cursor="inv_gone") is None


def test_an_accounts_billing_costs_the_same_queries_whatever_it_holds(
    acme, people, staff, django_assert_num_queries
):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            page = pages.account_billing(people["client_admin"], acme, today=today())
            [r.status_words for r in page.open + page.history]
        return len(queries)

    sent_invoice(acme, by=staff, due=days(-1))
    proposal(acme, by=staff)
    few = count()
    for n in range(6):
        sent_invoice(acme, by=staff, due=days(n - 3))
        sent_invoice(acme, by=staff, paid="100.00")
        proposal(acme, by=staff)
    with django_assert_num_queries(few):
        page = pages.account_billing(people["client_admin"], acme, today=today())
        [r.status_words for r in page.open + page.history]
    assert len(page.open) == 7


@pytest.mark.parametrize(
    ("late", "bucket"),
    [
        (0, "Not yet due"),
        (1, "1\N{EN DASH}30 days"),
        (30, "1\N{EN DASH}30 days"),
        (31, "31\N{EN DASH}60 days"),
        (60, "31\N{EN DASH}60 days"),
        (61, "61\N{EN DASH}90 days"),
        (90, "61\N{EN DASH}90 days"),
        (91, "Over 90 days"),
        (400, "Over 90 days"),
    ],
)
def test_ageing_buckets_by_days_late(late, bucket):
    assert pages.bucket_of(late) == bucket


def test_receivables_list_overdue_first_with_bucket_totals(acme, globex, people, staff):
    admin = people["firm_admin"]
    sent_invoice(acme, by=staff, amount="100.00", due=days(10), number="A-DUE")
    sent_invoice(acme, by=staff, amount="200.00", due=days(-5), number="A-5")
    sent_invoice(acme, by=staff, amount="300.00", due=days(-45), paid="50.00", number="A-45")
    sent_invoice(globex, by=admin, amount="400.00", due=days(-100), number="G-100")
    sent_invoice(globex, by=admin, amount="7000", currency="JPY", due=days(-20), number="G-JPY")
    sent_invoice(acme, by=staff, amount="1.00", status=Status.PAID, paid="1.00")
    factories.invoice(acme, by=staff)

    found = pages.receivables(admin, today=today())
    assert [r.invoice.number for r in found.rows] == ["G-100", "A-45", "G-JPY", "A-5", "A-DUE"]
    assert [r.days_late for r in found.rows] == [100, 45, 20, 5, 0]
    buckets = {b.label: {f.currency: f.text for f in b.totals} for b in found.buckets}
    assert buckets == {
        "Not yet due": {"EUR": "100.00"},
        "1\N{EN DASH}30 days": {"EUR": "200.00", "JPY": "7,000"},
        "31\N{EN DASH}60 days": {"EUR": "250.00"},
        "61\N{EN DASH}90 days": {},
        "Over 90 days": {"EUR": "400.00"},
    }
    assert (found.total, found.overdue) == (5, 4)
    assert {f.currency: f.text for f in found.totals} == {"EUR": "950.00", "JPY": "7,000"}
    by_account = {a.account.name: a for a in found.accounts}
    assert [f.text for f in by_account["Acme"].balance] == ["550.00"]
    assert [f.text for f in by_account["Acme"].overdue] == ["450.00"]
    assert by_account["Globex"].count == 2


def test_receivables_hold_only_the_accounts_served(acme, globex, people, staff):
    sent_invoice(acme, by=staff, number="ACME-1")
    sent_invoice(globex, by=people["firm_admin"], number="GLOBEX-1")
    assert [r.invoice.number for r in pages.receivables(staff, today=today()).rows] == ["ACME-1"]
    assert [
        r.invoice.number for r in pages.receivables(people["staff_off_team"], today=today()).rows
    ] == ["GLOBEX-1"]
    for role in ("client_admin", "client_member", "other_client"):
        assert pages.receivables(people[role], today=today()).rows == []


def test_receivables_come_in_pages(acme, staff, monkeypatch):
    monkeypatch.setattr(pages, "RECEIVABLES_PAGE", 2)
    for n in range(5):
        sent_invoice(acme, by=staff, due=days(-n - 1), number=f"R{n}")
    seen, cursor = [], ""
    while True:
        page = pages.receivables(staff, today=today(), cursor=cursor)
        seen += [r.invoice.number for r in page.rows]
        assert page.total == 5
        if not page.next:
            break
        cursor = page.next
    assert seen == ["R4", "R3", "R2", "R1", "R0"]
    assert pages.receivables(staff, today=today(), cursor="inv_gone") is None


def test_receivables_cost_the_same_queries_whatever_they_hold(
    acme, globex, people, staff, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = people["firm_admin"]
    sent_invoice(acme, by=staff, due=days(-1))
    with CaptureQueriesContext(connection) as few:
        [r.account.name for r in pages.receivables(admin, today=today()).rows]
    for n in range(8):
        sent_invoice(acme if n % 2 else globex, by=admin, due=days(n * 20 - 80))
    with django_assert_num_queries(len(few)):
        found = pages.receivables(admin, today=today())
        [r.account.name for r in found.rows]
    assert found.total == 9
