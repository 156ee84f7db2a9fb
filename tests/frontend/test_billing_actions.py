"""The billing pages' forms: the editor's save and each action on an invoice or a proposal.

Per role: whoever may act gets the effect (a message and back to the page); anyone else
gets 403 (sees the document, may not act) or 404 (does not see it), and nothing is written.
CSRF is enforced; a refusal shows the page again with the error at its field and what was
typed; a client's view is recorded once per GET of the page, never for the firm's people."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from billing import events, money
from billing.consent import CONSENT_TEXT, consent_json
from billing.models import Invoice, InvoiceLine, Payment, Proposal, ProposalStatus, Status
from billing.services import invoices as invoice_services
from evidence.models import Entry
from messaging.models import Event
from tests import factories

SERVES_ACME = {"firm_admin", "staff_on_team"}
SEES_ACME = SERVES_ACME | {"client_admin", "client_member"}
LINE = [{"description": "Design", "quantity": "1", "unit_price": "100.00", "tax_rate": "20"}]


def snapshot() -> dict:
    """What an action writes: documents, lines, payments, ledger entries, thread events."""
    return {
        "invoices": list(Invoice.objects.order_by("pk").values()),
        "lines": InvoiceLine.objects.count(),
        "payments": Payment.objects.count(),
        "proposals": list(Proposal.objects.order_by("pk").values()),
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
    }


def payload(entry: Entry) -> dict:
    return json.loads(entry.canonical)["payload"]


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def world(acme, people):
    staff = people["staff_on_team"]
    draft = invoice_services.invoice_create(actor=staff, account=acme, lines=LINE)
    sent = invoice_services.invoice_send(
        actor=staff,
        invoice=invoice_services.invoice_create(actor=staff, account=acme, lines=LINE),
    )
    return {
        "staff": staff,
        "draft": draft,
        "sent": sent,
        "draft_proposal": factories.proposal(acme, by=staff, title="Draft plan"),
        "proposal": factories.proposal(acme, by=staff, sent=True),
    }


def _invoice_path(world, key: str, action: str) -> str:
    return reverse(f"frontend:invoice_{action}", args=[world[key].public_id])


def _proposal_path(world, key: str, action: str) -> str:
    return reverse(f"frontend:proposal_{action}", args=[world[key].public_id])


# --- who may do what --------------------------------------------------------------------------

# (route, document, data, who may, the status of others who see it)
ACTIONS = {
    "invoice_send": (_invoice_path, "draft", "send", {}, SERVES_ACME),
    "invoice_void": (_invoice_path, "sent", "void", {"reason": "Billed twice"}, SERVES_ACME),
    "invoice_payment": (
        _invoice_path,
        "sent",
        "payment",
        {"amount": "50.00", "method": "bank_transfer", "reference": "TX-1", "date": ""},
        SERVES_ACME,
    ),
    "invoice_credit_note": (
        _invoice_path,
        "sent",
        "credit_note",
        {"description": "Goodwill", "unit_price": "10.00", "tax_rate": "20", "quantity": "1"},
        SERVES_ACME,
    ),
    "proposal_send": (_proposal_path, "draft_proposal", "send", {}, SERVES_ACME),
    "proposal_withdraw": (
        _proposal_path,
        "proposal",
        "withdraw",
        {"reason": "Scope changed"},
        SERVES_ACME,
    ),
    "proposal_accept": (
        _proposal_path,
        "proposal",
        "accept",
        {"consent": "1", "name": "Alex Acme", "password": factories.PASSWORD},
        {"client_admin"},
    ),
    "proposal_decline": (
        _proposal_path,
        "proposal",
        "decline",
        {"reason": "Too dear"},
        {"client_admin"},
    ),
}


def _sees(role: str, key: str) -> bool:
    return role in (SERVES_ACME if key.startswith("draft") else SEES_ACME)


@pytest.mark.parametrize("role", factories.ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_by_role(client, people, world, action, role):
    path_of, key, name, data, allowed = ACTIONS[action]
    client.force_login(people[role])
    before = snapshot()
    response = client.post(path_of(world, key, name), data)
    if role in allowed:
        assert response.status_code == 302, text(response)[:2000]
        page = "invoice" if action.startswith("invoice") else "proposal"
        assert response["Location"] == reverse(f"frontend:{page}", args=[world[key].public_id])
        assert said(response)
        assert snapshot() != before
    else:
        assert response.status_code == (403 if _sees(role, key) else 404), role
        assert snapshot() == before


def test_the_effects(client, people, world):
    client.force_login(people["staff_on_team"])
    client.post(_invoice_path(world, "draft", "send"))
    world["draft"].refresh_from_db()
    assert world["draft"].status == Status.SENT and world["draft"].number
    sent = world["sent"]
    client.post(
        _invoice_path(world, "sent", "payment"),
        {"amount": "20.00", "method": "bank_transfer", "reference": "TX-9", "date": ""},
    )
    payment = Payment.objects.get(invoice=sent)
    assert (payment.amount, payment.reference) == (Decimal("20.00"), "TX-9")
    assert payment.recorded_by == people["staff_on_team"]
    client.post(
        _invoice_path(world, "sent", "credit_note"),
        {"description": "Goodwill", "unit_price": "10.00", "tax_rate": "20", "quantity": "1"},
    )
    sent.refresh_from_db()
    assert sent.credited == Decimal("12.00")
    assert sent.status == Status.PARTIALLY_PAID
    note = sent.credit_notes.get()
    assert note.number and note.total == Decimal("12.00")


def test_void_records_the_reason_and_where_from(client, people, world):
    client.force_login(people["staff_on_team"])
    response = client.post(
        _invoice_path(world, "sent", "void"),
        {"reason": "Billed twice"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Test agent",
    )
    assert response.status_code == 302
    world["sent"].refresh_from_db()
    assert (world["sent"].status, world["sent"].void_reason) == (Status.VOID, "Billed twice")
    entry = Entry.objects.filter(kind=events.LEDGER_INVOICE_VOIDED).get()
    assert payload(entry)["from"]["ip"] == "203.0.113.7"


def test_the_forms_need_the_csrf_token(people, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["staff_on_team"])
    before = snapshot()
    for action in ("invoice_send", "invoice_void", "invoice_payment", "proposal_withdraw"):
        path_of, key, name, data, _allowed = ACTIONS[action]
        assert browser.post(path_of(world, key, name), data).status_code == 403
    editor = reverse("frontend:invoice_new") + f"?account={world['draft'].account.public_id}"
    assert browser.post(editor, {"description": "A", "quantity": "1"}).status_code == 403
    browser.force_login(people["client_admin"])
    path_of, key, name, data, _allowed = ACTIONS["proposal_accept"]
    assert browser.post(path_of(world, key, name), data).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_action_addresses_take_only_posts(client, people, world, action):
    path_of, key, name, _data, _allowed = ACTIONS[action]
    client.force_login(people["firm_admin"])
    assert client.get(path_of(world, key, name)).status_code == 405


def test_signed_out_goes_to_sign_in(client, world):
    before = snapshot()
    response = client.post(_invoice_path(world, "sent", "void"), {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))
    assert snapshot() == before


# --- refusals shown at their field ------------------------------------------------------------


def test_an_overpayment_is_shown_at_the_amount(client, people, world):
    client.force_login(people["staff_on_team"])
    before = snapshot()
    response = client.post(
        _invoice_path(world, "sent", "payment"),
        {"amount": "500.00", "method": "bank_transfer", "reference": "TX-2", "date": ""},
    )
    assert response.status_code == 400
    page = text(response)
    assert re.search(r'id="payment-amount"[^>]*value="500.00"[^>]*aria-invalid="true"', page)
    assert 'id="payment-amount-error"' in page and "a payment cannot be more" in page
    assert 'value="TX-2"' in page  # what was typed is kept
    assert '<details class="add" open><summary>Record a payment' in page
    assert snapshot() == before


def test_a_void_without_reason_and_a_void_of_a_paid_invoice(client, people, world):
    client.force_login(people["staff_on_team"])
    before = snapshot()
    response = client.post(_invoice_path(world, "sent", "void"), {"reason": "  "})
    assert response.status_code == 400
    assert 'id="void-reason-error"' in text(response)
    assert snapshot() == before
    client.post(
        _invoice_path(world, "sent", "payment"),
        {"amount": "1.00", "method": "bank_transfer", "date": ""},
    )
    before = snapshot()
    response = client.post(_invoice_path(world, "sent", "void"), {"reason": "Wrong"})
    assert response.status_code == 409
    assert "issue a credit note instead" in text(response)
    assert snapshot() == before


def test_a_credit_note_above_the_balance_is_shown_at_its_amount(client, people, world):
    client.force_login(people["staff_on_team"])
    before = snapshot()
    response = client.post(
        _invoice_path(world, "sent", "credit_note"),
        {"description": "Too much", "unit_price": "1000.00", "tax_rate": "0", "quantity": "1"},
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="credit-amount-error"' in page and 'value="Too much"' in page
    assert snapshot() == before


def test_a_wrong_password_records_nothing(client, people, world):
    client.force_login(people["client_admin"])
    before = snapshot()
    response = client.post(
        _proposal_path(world, "proposal", "accept"),
        {"consent": "1", "name": "Alex Acme", "password": "not-it"},
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="accept-password-error"' in page
    assert 'value="Alex Acme"' in page and "not-it" not in page  # the password never comes back
    assert snapshot() == before


def test_without_consent_nothing_is_accepted(client, people, world):
    client.force_login(people["client_admin"])
    before = snapshot()
    response = client.post(
        _proposal_path(world, "proposal", "accept"),
        {"name": "Alex Acme", "password": factories.PASSWORD},
    )
    assert response.status_code == 400
    assert 'id="accept-consent-error"' in text(response)
    assert snapshot() == before


def test_too_many_wrong_passwords_are_throttled(client, people, world, settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 2, "window": 900}
    client.force_login(people["client_admin"])
    path = _proposal_path(world, "proposal", "accept")
    for _ in range(2):
        client.post(path, {"consent": "1", "name": "Alex", "password": "wrong"})
    before = snapshot()
    response = client.post(path, {"consent": "1", "name": "Alex", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert "Too many" in text(response) or "too many" in text(response)
    assert snapshot() == before


def test_a_decision_taken_meanwhile_is_said_above_the_page(client, people, world):
    other_admin = factories.client(world["proposal"].account, role="admin", name="Bo Acme")
    client.force_login(other_admin)
    client.post(_proposal_path(world, "proposal", "decline"), {"reason": "No budget"})
    client.force_login(people["client_admin"])
    before = snapshot()
    response = client.post(_proposal_path(world, "proposal", "decline"), {"reason": "Too dear"})
    assert response.status_code == 409
    page = text(response)
    assert "This proposal is declined." in page and 'class="toast toast--error"' in page
    assert "Declined by <strong>Bo Acme</strong>" in page
    assert snapshot() == before


def test_a_decline_needs_a_reason(client, people, world):
    client.force_login(people["client_admin"])
    before = snapshot()
    response = client.post(_proposal_path(world, "proposal", "decline"), {"reason": ""})
    assert response.status_code == 400
    assert 'id="decline-reason-error"' in text(response)
    assert snapshot() == before


# --- acceptance ------------------------------------------------------------------------------


def test_the_consent_shown_is_the_one_recorded(client, people, world):
    client.force_login(people["client_admin"])
    page = client.get(reverse("frontend:proposal", args=[world["proposal"].public_id]))
    assert CONSENT_TEXT in page.content.decode()
    response = client.post(
        _proposal_path(world, "proposal", "accept"),
        {
            "consent": "1",
            "name": "Alex Acme",
            "password": factories.PASSWORD,
            "content_sha256": world["proposal"].content_sha256,
        },
    )
    assert response.status_code == 302
    entry = Entry.objects.get(kind=events.LEDGER_PROPOSAL_ACCEPTED)
    assert entry.content_sha256 == world["proposal"].content_sha256
    assert payload(entry)["consent"] == consent_json()


def test_a_changed_proposal_is_not_accepted(client, people, world):
    client.force_login(people["client_admin"])
    before = snapshot()
    response = client.post(
        _proposal_path(world, "proposal", "accept"),
        {
            "consent": "1",
            "name": "Alex",
            "password": factories.PASSWORD,
            "content_sha256": "0" * 64,
        },
    )
    assert response.status_code == 409
    assert snapshot() == before


def test_after_acceptance_staff_see_the_draft_and_clients_are_told_it_follows(
    client, people, world
):
    proposal = world["proposal"]
    client.force_login(people["client_admin"])
    client.post(
        _proposal_path(world, "proposal", "accept"),
        {"consent": "1", "name": "Alex A. Acme", "password": factories.PASSWORD},
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ACCEPTED
    invoice = proposal.invoice
    assert invoice.status == Status.DRAFT and invoice.proposal == proposal
    page = text(client.get(reverse("frontend:proposal", args=[proposal.public_id])))
    assert "Accepted by <strong>Alex A. Acme</strong> on" in page
    assert "Your invoice will follow." in page
    assert invoice.public_id not in page
    client.force_login(people["staff_on_team"])
    page = text(client.get(reverse("frontend:proposal", args=[proposal.public_id])))
    assert "Accepted by <strong>Alex A. Acme</strong> on" in page
    assert f'href="/invoices/{invoice.public_id}/"' in page


# --- the editor -------------------------------------------------------------------------------


def _editor_data(lines, **fields) -> dict:
    data = {name: [line.get(name, "") for line in lines] for name in money.LINE_KEYS}
    return {**data, **fields}


THREE = [
    {"description": "Design", "quantity": "3", "unit_price": "33.335", "tax_rate": "20"},
    {"description": "", "quantity": "", "unit_price": "", "tax_rate": "", "discount": ""},
    {"description": "Hosting", "quantity": "1", "unit_price": "9.99", "tax_rate": "7"},
    {
        "description": "Support",
        "quantity": "2.5",
        "unit_price": "80",
        "tax_rate": "20",
        "discount": "10",
    },
]


def test_the_editor_round_trip(client, people, acme):
    client.force_login(people["staff_on_team"])
    path = reverse("frontend:invoice_new") + f"?account={acme.public_id}"
    response = client.post(
        path, _editor_data(THREE, currency="EUR", due="", notes="Thanks", terms="")
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get(notes="Thanks")
    assert response["Location"] == reverse("frontend:invoice", args=[invoice.public_id])
    given = [
        money.LineInput(
            description=line["description"],
            quantity=Decimal(line["quantity"]),
            unit_price=Decimal(line["unit_price"]),
            tax_rate=Decimal(line["tax_rate"]),
            discount=Decimal(line.get("discount") or "0"),
        )
        for line in THREE
        if line["description"]
    ]
    expected = money.totals(given, "EUR")
    assert [line.description for line in invoice.lines.all()] == ["Design", "Hosting", "Support"]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        expected.subtotal,
        expected.tax,
        expected.total,
    )
    # Edited: one line fewer, another currency; the sums follow.
    edit = reverse("frontend:invoice_edit", args=[invoice.public_id])
    response = client.post(
        edit, _editor_data(THREE[:1], currency="JPY", due="", notes="Thanks", terms="Net 10")
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.currency, invoice.terms, invoice.total) == ("JPY", "Net 10", Decimal(120))


def test_the_editor_shows_an_error_at_its_line_and_keeps_what_was_typed(client, people, acme):
    client.force_login(people["staff_on_team"])
    path = reverse("frontend:invoice_new") + f"?account={acme.public_id}"
    lines = [
        THREE[0],
        THREE[1],
        {"description": "Hosting", "quantity": "-1", "unit_price": "9.99", "tax_rate": "7"},
    ]
    before = snapshot()
    response = client.post(path, _editor_data(lines, currency="EUR", notes="Typed notes"))
    assert response.status_code == 400
    page = text(response)
    # The third row on the page (the second line sent) carries the error, at its quantity.
    assert re.search(
        r'value="-1"[^>]*aria-label="Quantity of line 3"[^>]*aria-invalid="true"', page
    )
    assert 'id="line-3-quantity-error"' in page
    assert 'value="33.335"' in page and "Typed notes" in page
    assert snapshot() == before


def test_the_editor_without_lines_and_with_a_past_due_date(client, people, acme):
    client.force_login(people["staff_on_team"])
    path = reverse("frontend:invoice_new") + f"?account={acme.public_id}"
    response = client.post(path, _editor_data([THREE[1]], currency="EUR"))
    assert response.status_code == 400
    assert "lines is a list of one or more lines" in text(response)
    response = client.post(path, _editor_data(THREE[:1], currency="EUR", due="2001-01-01"))
    assert response.status_code == 400
    assert 'id="editor-due-error"' in text(response)
    assert not Invoice.objects.filter(account=acme, created_by=people["staff_on_team"]).exists()


@pytest.mark.parametrize("role", sorted(set(factories.ROLES) - SERVES_ACME))
def test_the_editor_saves_nothing_for_others(client, people, acme, world, role):
    client.force_login(people[role])
    before = snapshot()
    new = reverse("frontend:invoice_new") + f"?account={acme.public_id}"
    assert client.post(new, _editor_data(THREE[:1], currency="EUR")).status_code == 404
    new = reverse("frontend:proposal_new") + f"?account={acme.public_id}"
    data = _editor_data(THREE[:1], currency="EUR", title="T")
    assert client.post(new, data).status_code == 404
    edit = reverse("frontend:invoice_edit", args=[world["draft"].public_id])
    assert client.post(edit, _editor_data(THREE[:1], currency="EUR")).status_code == 404
    edit = reverse("frontend:proposal_edit", args=[world["draft_proposal"].public_id])
    assert client.post(edit, data).status_code == 404
    assert snapshot() == before


def test_a_draft_proposal_is_edited(client, people, world):
    client.force_login(people["staff_on_team"])
    proposal = world["draft_proposal"]
    edit = reverse("frontend:proposal_edit", args=[proposal.public_id])
    data = _editor_data(THREE[3:], currency="EUR", title="Support plan", notes="Yearly")
    response = client.post(edit, {**data, "valid_until": "", "deposit_percent": "", "document": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:proposal", args=[proposal.public_id])
    proposal.refresh_from_db()
    assert (proposal.title, proposal.notes, proposal.deposit_percent) == (
        "Support plan",
        "Yearly",
        None,
    )
    line = proposal.lines.get()
    assert (line.description, line.net, proposal.total) == (
        "Support",
        Decimal("180.00"),
        Decimal("216.00"),
    )


def test_a_sent_invoice_is_not_edited(client, people, world):
    client.force_login(people["staff_on_team"])
    before = snapshot()
    edit = reverse("frontend:invoice_edit", args=[world["sent"].public_id])
    response = client.post(edit, _editor_data(THREE[:1], currency="EUR"))
    assert response.status_code == 302
    assert snapshot() == before


def test_a_proposal_with_a_scope_document(client, people, acme):
    from tests.vault.helpers import sealed_upload
    from vault import services as vault_services

    staff = people["staff_on_team"]

    def add(title, privileged):
        return vault_services.document_create(
            actor=staff,
            account=acme,
            upload=sealed_upload(b"Scope.\n"),
            title=title,
            privileged=privileged,
        ).document

    scope, secret = add("Statement of work", False), add("Settlement", True)
    client.force_login(staff)
    path = reverse("frontend:proposal_new") + f"?account={acme.public_id}"
    page = text(client.get(path))
    assert f'value="{scope.public_id}"' in page
    assert secret.public_id not in page  # privileged documents are not offered
    data = _editor_data(THREE[:1], currency="EUR", title="Redesign", document=scope.public_id)
    response = client.post(path, {**data, "valid_until": "", "deposit_percent": "30"})
    assert response.status_code == 302
    proposal = Proposal.objects.get(title="Redesign")
    assert (proposal.document, proposal.deposit_percent) == (scope, Decimal("30"))
    data["document"] = secret.public_id
    response = client.post(path, data)
    assert response.status_code == 400
    assert 'id="editor-document-error"' in text(response)


# --- a client's views -------------------------------------------------------------------------


def _views(kind: str, subject: str) -> int:
    return Entry.objects.filter(kind=kind, subject=subject).count()


@pytest.mark.parametrize(
    ("page", "key", "kind"),
    [
        ("frontend:invoice", "sent", events.LEDGER_INVOICE_VIEWED),
        ("frontend:proposal", "proposal", events.LEDGER_PROPOSAL_VIEWED),
    ],
)
def test_a_clients_view_is_recorded_once_per_get(client, people, world, page, key, kind):
    document = world[key]
    path = reverse(page, args=[document.public_id])
    for role in ("firm_admin", "staff_on_team"):
        client.force_login(people[role])
        assert client.get(path).status_code == 200
    assert _views(kind, document.public_id) == 0
    client.force_login(people["client_member"])
    client.get(path)
    assert _views(kind, document.public_id) == 1
    client.get(path)
    assert _views(kind, document.public_id) == 2
    # A refused form shows the page again: that is not a view.
    client.force_login(people["client_admin"])
    if key == "proposal":
        client.post(_proposal_path(world, key, "decline"), {"reason": ""})
    assert _views(kind, document.public_id) == 2
    # The thread hears of the first view of each person only.
    first_views = Event.objects.filter(type=kind).count()
    assert first_views == 1
