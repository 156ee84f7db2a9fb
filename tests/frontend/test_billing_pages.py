"""The billing pages: who reaches each one, what it shows (what is owed at a glance, drafts
kept from clients, overdue first, the ageing buckets, how to pay, the decision forms), and a
number of queries that does not grow with the invoices on a list."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import ProposalStatus, Status
from billing.selectors.settings import settings_get
from tests import factories
from tests.billing.helpers import days, proposal, sent_invoice

ROLES = (*factories.ROLES, "anonymous")
LOGIN = reverse("frontend:login")


def sign_in(client, people, role):
    if role != "anonymous":
        client.force_login(people[role])
    return client


def expected(role: str, allowed: set[str]) -> int:
    if role == "anonymous":
        return 302
    return 200 if role in allowed else 404


SERVES_ACME = {"firm_admin", "staff_on_team"}
SEES_ACME = SERVES_ACME | {"client_admin", "client_member"}
STAFF = {"firm_admin", "staff_on_team", "staff_off_team"}


@pytest.fixture
def billing(acme, people):
    staff = people["staff_on_team"]
    return {
        "sent": sent_invoice(acme, by=staff, amount="1440.00", due=days(-3), number="INV-1"),
        "draft": factories.invoice(acme, by=staff),
        "proposal": proposal(acme, by=staff),
        "draft_proposal": proposal(acme, by=staff, status=ProposalStatus.DRAFT),
    }


def pages_of(billing, acme) -> dict[str, tuple[str, set[str]]]:
    """Each page and who reaches it (everyone else signed in: 404)."""
    return {
        "account_billing": (reverse("frontend:account_billing", args=[acme.public_id]), SEES_ACME),
        "sent_invoice": (reverse("frontend:invoice", args=[billing["sent"].public_id]), SEES_ACME),
        "draft_invoice": (
            reverse("frontend:invoice", args=[billing["draft"].public_id]),
            SERVES_ACME,
        ),
        "invoice_new": (
            reverse("frontend:invoice_new") + f"?account={acme.public_id}",
            SERVES_ACME,
        ),
        "invoice_edit": (
            reverse("frontend:invoice_edit", args=[billing["draft"].public_id]),
            SERVES_ACME,
        ),
        "receivables": (reverse("frontend:receivables"), STAFF),
        "sent_proposal": (
            reverse("frontend:proposal", args=[billing["proposal"].public_id]),
            SEES_ACME,
        ),
        "draft_proposal": (
            reverse("frontend:proposal", args=[billing["draft_proposal"].public_id]),
            SERVES_ACME,
        ),
        "proposal_new": (
            reverse("frontend:proposal_new") + f"?account={acme.public_id}",
            SERVES_ACME,
        ),
        "proposal_edit": (
            reverse("frontend:proposal_edit", args=[billing["draft_proposal"].public_id]),
            SERVES_ACME,
        ),
    }


PAGES = (
    "account_billing",
    "sent_invoice",
    "draft_invoice",
    "invoice_new",
    "invoice_edit",
    "receivables",
    "sent_proposal",
    "draft_proposal",
    "proposal_new",
    "proposal_edit",
)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_who_reaches_each_billing_page(client, people, acme, billing, role, page):
    path, allowed = pages_of(billing, acme)[page]
    response = sign_in(client, people, role).get(path)
    assert response.status_code == expected(role, allowed), (role, page)
    if role == "anonymous":
        assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("path", ["/invoices/inv_nosuchinvoice00/", "/proposals/pro_x/"])
def test_made_up_ids_are_not_found(client, people, path):
    assert sign_in(client, people, "firm_admin").get(path).status_code == 404


def test_the_editor_needs_an_account_served(client, people, globex):
    sign_in(client, people, "staff_on_team")
    assert client.get(reverse("frontend:invoice_new")).status_code == 404
    new = reverse("frontend:invoice_new") + f"?account={globex.public_id}"
    assert client.get(new).status_code == 404


def test_a_sent_invoice_is_not_edited(client, people, billing):
    sign_in(client, people, "staff_on_team")
    response = client.get(reverse("frontend:invoice_edit", args=[billing["sent"].public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:invoice", args=[billing["sent"].public_id])


def test_the_menus_billing_leads_each_person_to_theirs(client, people, acme):
    home = reverse("frontend:billing")
    response = sign_in(client, people, "client_member").get(home)
    assert response["Location"] == reverse("frontend:account_billing", args=[acme.public_id])
    client.force_login(people["staff_off_team"])
    assert client.get(home)["Location"] == reverse("frontend:receivables")
    nav = client.get(reverse("frontend:home")).content.decode()
    assert f'href="{reverse("frontend:receivables")}"' in nav


def test_the_account_page_links_to_its_billing(client, people, acme):
    body = sign_in(client, people, "client_member").get(
        reverse("frontend:account", args=[acme.public_id])
    )
    assert reverse("frontend:account_billing", args=[acme.public_id]) in body.content.decode()


# --- what the pages say -----------------------------------------------------------------------


def test_a_client_sees_what_they_owe_at_a_glance_and_never_a_draft(client, people, acme, billing):
    staff = people["staff_on_team"]
    sent_invoice(acme, by=staff, amount="500.00", due=days(12), number="INV-2")
    sent_invoice(acme, by=staff, amount="80.00", paid="80.00", number="INV-OLD")
    body = (
        sign_in(client, people, "client_admin")
        .get(reverse("frontend:account_billing", args=[acme.public_id]))
        .content.decode()
    )
    summary = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    assert "You owe 1,940.00 EUR" in summary
    assert "1,440.00 overdue" in summary
    assert f"next due {days(12).strftime('%-d %b')}" in summary
    assert body.index("INV-1") < body.index("INV-2") < body.index("INV-OLD")
    assert billing["draft"].public_id not in body
    assert billing["draft_proposal"].public_id not in body
    assert billing["proposal"].public_id in body
    assert "New invoice" not in body


def test_the_team_sees_drafts_and_makes_new_ones(client, people, acme, billing):
    body = (
        sign_in(client, people, "staff_on_team")
        .get(reverse("frontend:account_billing", args=[acme.public_id]))
        .content.decode()
    )
    assert billing["draft"].public_id in body and billing["draft_proposal"].public_id in body
    assert f"/invoices/new/?account={acme.public_id}" in body
    assert f"/proposals/new/?account={acme.public_id}" in body
    assert "Acme owes" in body


def test_the_invoice_page_shows_the_document_and_its_balance(client, people, billing):
    invoice = billing["sent"]
    invoice.paid = 440
    invoice.status = Status.PARTIALLY_PAID
    invoice.save()
    settings_get().__class__.objects.update(payment_terms="IBAN DE00 1234")
    body = (
        sign_in(client, people, "client_member")
        .get(reverse("frontend:invoice", args=[invoice.public_id]))
        .content.decode()
    )
    assert "Overdue by 3 days" in body
    assert re.search(r'data-figure="balance">1,000.00 EUR<', body)
    assert re.search(r'data-figure="total">1,440.00 EUR<', body)
    assert f"/api/v1/invoices/{invoice.public_id}/pdf" in body
    assert "IBAN DE00 1234" in body
    assert "Pay now" not in body  # no payment link, no Stripe keys
    assert "/send/" not in body and "/void/" not in body


def test_a_payment_link_shows_as_the_way_to_pay_online(client, people, billing):
    from billing.models import BillingSettings

    BillingSettings.objects.update_or_create(
        singleton=True,
        defaults={"payment_link_template": "https://pay.example/{number}?amount={amount}"},
    )
    invoice = billing["sent"]
    path = reverse("frontend:invoice", args=[invoice.public_id])
    body = sign_in(client, people, "client_member").get(path).content.decode()
    assert f'href="https://pay.example/{invoice.number}?amount=' in body
    assert "Pay now" in body


def test_pay_now_shows_when_online_payment_is_on(client, people, billing, settings):
    path = reverse("frontend:invoice", args=[billing["sent"].public_id])
    settings.ATRIUM_STRIPE_SECRET_KEY = "sk_test_x"
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = "whsec_x"
    body = sign_in(client, people, "client_member").get(path).content.decode()
    assert f'action="{path}pay"' in body
    client.force_login(people["staff_on_team"])
    body = client.get(path).content.decode()
    assert "Pay now" not in body
    for action in ("payments/", "credit-notes/", "void/"):
        assert f'action="{path}{action}"' in body


def test_a_draft_offers_the_team_edit_and_send(client, people, billing):
    path = reverse("frontend:invoice", args=[billing["draft"].public_id])
    body = sign_in(client, people, "firm_admin").get(path).content.decode()
    assert f'action="{path}send/"' in body
    assert reverse("frontend:invoice_edit", args=[billing["draft"].public_id]) in body


def test_the_editor_carries_the_currencies_and_the_drafts_lines(client, people, billing):
    path = reverse("frontend:invoice_edit", args=[billing["draft"].public_id])
    body = sign_in(client, people, "staff_on_team").get(path).content.decode()
    assert '"JPY": 0' in body and '"EUR": 2' in body
    assert 'value="Design"' in body and 'value="500.00"' in body
    assert re.search(r'data-total="total">1,200.00<', body)


def test_receivables_list_overdue_first_with_bucket_totals(client, people, acme, globex):
    admin = people["firm_admin"]
    sent_invoice(acme, by=admin, amount="100.00", due=days(4), number="DUE-LATER")
    sent_invoice(globex, by=admin, amount="250.00", due=days(-95), number="VERY-LATE")
    sent_invoice(acme, by=admin, amount="70.00", due=days(-2), number="A-BIT-LATE")
    body = sign_in(client, people, "firm_admin").get(reverse("frontend:receivables"))
    body = body.content.decode()
    assert body.index("VERY-LATE") < body.index("A-BIT-LATE") < body.index("DUE-LATER")
    assert "95 days late" in body
    bucket = re.search(r'data-bucket="Over 90 days">(.*?)</li>', body, re.S).group(1)
    assert "250.00 EUR" in bucket and "1 invoice" in bucket
    assert "In all:" in body and "420.00 EUR" in body


def test_a_client_admin_gets_the_decision_forms(client, people, billing):
    path = reverse("frontend:proposal", args=[billing["proposal"].public_id])
    body = sign_in(client, people, "client_admin").get(path).content.decode()
    assert f'action="{path}accept/"' in body and f'action="{path}decline/"' in body
    assert 'name="consent"' in body and 'name="password"' in body
    assert 'name="code"' not in body
    TOTPDevice.objects.create(user=people["client_admin"], name="App", confirmed=True)
    assert 'name="code"' in client.get(path).content.decode()
    client.force_login(people["client_member"])
    body = client.get(path).content.decode()
    assert "accept/" not in body and "Waiting for a decision" in body


def test_who_accepted_is_shown_with_the_invoice_made(client, people, acme, billing):
    made = factories.invoice(acme, by=people["staff_on_team"])
    accepted = billing["proposal"]
    accepted.status = ProposalStatus.ACCEPTED
    accepted.decided_by = people["client_admin"]
    accepted.accepted_name = "Alex Acme"
    accepted.invoice = made
    accepted.save()
    path = reverse("frontend:proposal", args=[accepted.public_id])
    body = sign_in(client, people, "staff_on_team").get(path).content.decode()
    assert "Accepted by" in body and "Alex Acme" in body
    assert f"/invoices/{made.public_id}/" in body


# --- queries --------------------------------------------------------------------------------


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_list_pages_cost_the_same_queries_whatever_they_hold(client, people, acme, globex):
    admin = people["firm_admin"]
    sign_in(client, people, "firm_admin")
    sent_invoice(acme, by=admin, due=days(-1))
    proposal(acme, by=admin)
    account_page = reverse("frontend:account_billing", args=[acme.public_id])
    receivables = reverse("frontend:receivables")
    # Once to warm what a first request reads (the session, the firm), then counted.
    _queries(client, account_page)
    few = (_queries(client, account_page), _queries(client, receivables))
    for n in range(6):
        sent_invoice(acme, by=admin, due=days(n * 30 - 100))
        sent_invoice(globex, by=admin, due=days(n - 2))
        sent_invoice(acme, by=admin, paid="100.00")
        factories.invoice(acme, by=admin)
        proposal(acme, by=admin)
    assert (_queries(client, account_page), _queries(client, receivables)) == few
