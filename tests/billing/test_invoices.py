"""Invoices' services: the state machine (every allowed and refused transition), what each
transition records (one ledger entry and one thread event, none on refusal), the stored PDF,
the e-mail's link, credit notes and the client's views."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.services.firm import firm_get
from billing import content, pdf
from billing.models import Invoice, Kind, Status
from billing.selectors.settings import settings_get
from billing.services import invoices as services
from billing.services.settings import billing_profile_update
from evidence.models import Entry
from messaging.models import Event, Notification
from tests.billing.conftest import (
    LINES,
    draft,
    ledger_kinds,
    ledger_payloads,
    sent,
    thread_events,
)
from vault import services as vault_services
from vault.models import Document

pytestmark = pytest.mark.django_db


def _pdf_of(invoice: Invoice) -> bytes:
    invoice.refresh_from_db()
    with vault_services.version_content(version=invoice.pdf_version) as chunks:
        return b"".join(chunks)


def _raw(**given) -> dict:
    return {"description": "A", "quantity": "1", "unit_price": "1", "tax_rate": "0", **given}


def _written():
    return (Entry.objects.count(), Event.objects.count(), Invoice.objects.count())


# --- drafts ------------------------------------------------------------------------------------


def test_a_draft_has_rounded_sums_and_no_number(acme, staff):
    made = draft(staff, acme)
    assert made.status == Status.DRAFT and made.number is None
    assert made.subtotal == Decimal("1009.99")
    assert made.tax == Decimal("200.00") + Decimal("0.70")
    assert made.total == Decimal("1210.69")
    assert made.thread.is_general
    assert ledger_kinds(made.public_id) == [] and thread_events(made) == []


def test_the_currency_defaults_to_the_firm_s(acme, staff):
    settings = settings_get()
    settings.default_currency = "JPY"
    settings.save()
    made = services.invoice_create(
        actor=staff,
        account=acme,
        lines=[{"description": "Audit", "quantity": "1", "unit_price": "1000", "tax_rate": "10"}],
    )
    assert made.currency == "JPY" and made.total == Decimal("1100")


def test_updating_a_draft_recomputes_its_sums(acme, staff):
    made = draft(staff, acme)
    changed = services.invoice_update(
        actor=staff,
        invoice=made,
        lines=[{"description": "Audit", "quantity": "3", "unit_price": "0.335", "tax_rate": "0"}],
        notes="Thanks",
    )
    assert changed.total == Decimal("1.01")  # 1.005 rounded half up
    assert changed.notes == "Thanks"
    assert [line.description for line in changed.lines.all()] == ["Audit"]


def test_changing_the_currency_alone_rounds_the_stored_lines_again(acme, staff):
    made = draft(
        staff,
        acme,
        lines=[{"description": "A", "quantity": "1", "unit_price": "10.50", "tax_rate": "0"}],
    )
    changed = services.invoice_update(actor=staff, invoice=made, currency="JPY")
    assert (changed.currency, changed.total) == ("JPY", Decimal("11"))


def test_a_draft_is_deleted_without_a_trace(acme, staff):
    made = draft(staff, acme)
    services.invoice_delete(actor=staff, invoice=made)
    assert not Invoice.objects.filter(pk=made.pk).exists()
    assert ledger_kinds(made.public_id) == []


@pytest.mark.parametrize(
    ("fields", "where", "reason"),
    [
        ({"currency": "XYZ"}, "currency", "unknown_currency"),
        ({"currency": "XAU"}, "currency", "unknown_currency"),
        (
            {"lines": [_raw(quantity="-1")]},
            "lines[0].quantity",
            "negative",
        ),
        (
            {
                "lines": [
                    {"description": "A", "quantity": "1", "unit_price": "ten", "tax_rate": "0"}
                ]
            },
            "lines[0].unit_price",
            "not_a_number",
        ),
        (
            {
                "lines": [
                    {"description": "A", "quantity": "1", "unit_price": "1", "tax_rate": "101"}
                ]
            },
            "lines[0].tax_rate",
            "too_large",
        ),
        ({"due": "2001-01-01"}, "due", "in_past"),
        ({"due": "soon"}, "due", "invalid"),
        ({"notes": "x" * 5001}, "notes", "too_long"),
    ],
)
def test_bad_input_is_refused_naming_the_field(acme, staff, fields, where, reason):
    with pytest.raises(Invalid) as refused:
        draft(staff, acme, **fields)
    assert refused.value.fields == {where: reason}
    assert Invoice.objects.count() == 0


# --- sending -----------------------------------------------------------------------------------


def test_sending_numbers_dates_copies_the_parties_and_stores_the_pdf(acme, people, staff):
    billing_profile_update(
        actor=people["client_admin"],
        account=acme,
        legal_name="Acme Industries Ltd",
        country="DE",
        vat_number="DE136695976",
    )
    made = draft(staff, acme)
    done = services.invoice_send(actor=staff, invoice=made, meta={"ip": "203.0.113.9"})
    today = timezone.localdate()
    year = today.year
    assert done.status == Status.SENT
    assert done.number == f"INV-{year}-00001"
    assert done.issue_date == today
    assert done.due_date == today + timedelta(days=30)
    assert done.buyer["legal_name"] == "Acme Industries Ltd"
    assert done.buyer["vat_number"] == "DE136695976"
    # The firm has no legal name yet: the firm's name stands for it.
    assert done.seller["legal_name"] == firm_get().name
    assert done.content_sha256 == content.sha256_of(content.invoice_content(done, done.lines.all()))
    printed = _pdf_of(done)
    assert printed.startswith(b"%PDF")
    assert done.pdf_version.sha256 == hashlib.sha256(printed).hexdigest()
    document = done.pdf_version.document
    assert document.folder.name == "Invoices" and not document.privileged
    assert done.pdf_version.filename == f"{done.number}.pdf"


def test_the_buyer_without_billing_details_is_the_account_s_name(acme, staff):
    done = sent(staff, acme)
    assert done.buyer["legal_name"] == acme.name


def test_a_draft_s_own_due_date_is_kept(acme, staff):
    due = timezone.localdate() + timedelta(days=3)
    done = sent(staff, acme, due=due.isoformat())
    assert done.due_date == due


def test_sending_writes_one_ledger_entry_and_one_event_that_notifies_the_client(
    acme, people, staff
):
    made = draft(staff, acme)
    services.invoice_send(actor=staff, invoice=made)
    made.refresh_from_db()
    assert ledger_kinds(made.public_id) == ["invoice.sent"]
    [facts] = ledger_payloads(made.public_id, "invoice.sent")
    assert facts["number"] == made.number
    assert (facts["subtotal"], facts["tax"], facts["total"]) == ("1009.99", "200.70", "1210.69")
    assert facts["pdf"]["sha256"] == made.pdf_version.sha256
    entry = Entry.objects.get(subject=made.public_id)
    assert entry.content_sha256 == made.content_sha256
    [event] = thread_events(made)
    assert event["type"] == "invoice.sent"
    assert event["invoice"]["number"] == made.number
    notified = set(
        Notification.objects.filter(kind="invoice", seq=event["seq"]).values_list(
            "user_id", flat=True
        )
    )
    assert notified == {people["client_admin"].pk, people["client_member"].pk}
    # No document.added beside it: the invoice's own event announces the PDF.
    assert not Event.objects.filter(type="document.added").exists()


def test_the_e_mail_links_to_the_invoice_and_attaches_nothing(
    acme, people, staff, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ATRIUM_BASE_URL = "https://portal.example"
    made = draft(staff, acme)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_send(actor=staff, invoice=made)
    made.refresh_from_db()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [people["client_admin"].email, people["client_member"].email]
    )
    link = f"https://portal.example/invoices/{made.public_id}/"
    for message in mailoutbox:
        assert made.number in message.subject
        assert link in message.body
        assert link in message.alternatives[0][0]
        assert message.attachments == []


def test_sending_twice_is_refused_and_writes_nothing(acme, staff):
    done = sent(staff, acme)
    before = _written()
    with pytest.raises(Conflict) as refused:
        services.invoice_send(actor=staff, invoice=done)
    assert refused.value.code == "not_draft"
    assert _written() == before


@pytest.mark.parametrize("change", ["update", "delete"])
def test_a_sent_invoice_is_never_edited_or_deleted(acme, staff, change):
    done = sent(staff, acme)
    with pytest.raises(Conflict) as refused:
        if change == "update":
            services.invoice_update(actor=staff, invoice=done, notes="changed")
        else:
            services.invoice_delete(actor=staff, invoice=done)
    assert refused.value.code == "not_draft"
    done.refresh_from_db()
    assert done.notes == "" and done.status == Status.SENT


def test_a_failed_send_gives_its_number_back_and_stores_nothing(acme, staff, monkeypatch):
    first = draft(staff, acme)

    def broken(document, branding):
        raise RuntimeError("the renderer failed")

    monkeypatch.setattr(pdf, "render_invoice", broken)
    with pytest.raises(RuntimeError):
        services.invoice_send(actor=staff, invoice=first)
    first.refresh_from_db()
    assert first.status == Status.DRAFT and first.number is None
    assert ledger_kinds(first.public_id) == [] and Document.objects.count() == 0
    monkeypatch.undo()
    done = services.invoice_send(actor=staff, invoice=first)
    assert done.number.endswith("-00001")


def test_a_failure_after_storing_the_pdf_removes_the_stored_object(
    acme, staff, monkeypatch, tmp_path
):
    made = draft(staff, acme)
    from billing.services import invoices as module

    def broken(**kwargs):
        raise RuntimeError("the ledger failed")

    monkeypatch.setattr(module, "ledger_append", broken)
    with pytest.raises(RuntimeError):
        services.invoice_send(actor=staff, invoice=made)
    stored = [p for p in (tmp_path / "vault").rglob("*") if p.is_file()]
    assert stored == []
    assert Document.objects.count() == 0


def test_a_due_date_passed_since_drafting_is_refused_at_send(acme, staff):
    made = draft(staff, acme)
    Invoice.objects.filter(pk=made.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    made.refresh_from_db()
    with pytest.raises(Invalid) as refused:
        services.invoice_send(actor=staff, invoice=made)
    assert refused.value.fields == {"due": "in_past"}


def test_the_number_follows_the_firm_s_format(acme, staff):
    settings = settings_get()
    settings.invoice_number_format = "A{seq:03}"
    settings.save()
    assert sent(staff, acme).number == "A001"
    assert sent(staff, acme).number == "A002"


@pytest.mark.parametrize("who", ["staff_off_team", "client_admin", "client_member"])
def test_only_the_team_sends(acme, people, staff, who):
    made = draft(staff, acme)
    with pytest.raises((Forbidden, NotFound)):
        services.invoice_send(actor=people[who], invoice=made)
    made.refresh_from_db()
    assert made.status == Status.DRAFT


# --- void --------------------------------------------------------------------------------------


def test_void_records_the_reason_once(acme, people, staff):
    done = sent(staff, acme)
    voided = services.invoice_void(actor=staff, invoice=done, reason="Sent to the wrong client")
    assert voided.status == Status.VOID and voided.balance == 0
    assert voided.void_reason == "Sent to the wrong client"
    assert ledger_kinds(done.public_id) == ["invoice.sent", "invoice.voided"]
    assert ledger_payloads(done.public_id, "invoice.voided")[0]["reason"] == voided.void_reason
    assert [e["type"] for e in thread_events(done)] == ["invoice.sent", "invoice.voided"]


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("draft", "not_sent"),
        ("void", "void"),
        ("partially_paid", "has_payments"),
        ("paid", "has_payments"),
        ("credited", "has_credit_notes"),
        ("credit_note", "not_an_invoice"),
    ],
)
def test_void_is_refused_where_it_cannot_apply(acme, staff, state, code):
    target = _in_state(staff, acme, state)
    before = _written()
    with pytest.raises(Conflict) as refused:
        services.invoice_void(actor=staff, invoice=target, reason="Because")
    assert refused.value.code == code
    assert _written() == before


def test_void_without_a_reason_is_refused(acme, staff):
    done = sent(staff, acme)
    with pytest.raises(Invalid) as refused:
        services.invoice_void(actor=staff, invoice=done, reason="  ")
    assert refused.value.fields == {"reason": "required"}


def _in_state(staff, acme, state):
    if state == "draft":
        return draft(staff, acme)
    done = sent(staff, acme)
    if state == "void":
        return services.invoice_void(actor=staff, invoice=done, reason="Wrong")
    if state in ("partially_paid", "paid"):
        # What PAYMENTS' service leaves: paid raised, the status settled.
        paid = done.total if state == "paid" else Decimal("10.00")
        Invoice.objects.filter(pk=done.pk).update(paid=paid, status=state)
        done.refresh_from_db()
        return done
    note = services.credit_note_issue(actor=staff, invoice=done, lines=[_line("10.00")])
    if state == "credit_note":
        return note
    done.refresh_from_db()
    return done


# --- credit notes ------------------------------------------------------------------------------


def _line(price: str, rate: str = "0"):
    return {
        "description": "Discount agreed",
        "quantity": "1",
        "unit_price": price,
        "tax_rate": rate,
    }


def test_a_credit_note_is_numbered_sent_and_lowers_the_balance(acme, people, staff):
    done = sent(staff, acme)
    note = services.credit_note_issue(
        actor=staff, invoice=done, lines=[_line("100.00", "20")], notes="Goodwill"
    )
    done.refresh_from_db()
    year = timezone.localdate().year
    assert note.kind == Kind.CREDIT_NOTE and note.corrects_id == done.pk
    assert note.status == Status.SENT and note.number == f"CN-{year}-00001"
    assert note.total == Decimal("120.00") and note.balance == 0
    assert done.credited == Decimal("120.00")
    assert done.balance == done.total - Decimal("120.00")
    assert done.status == Status.SENT
    assert _pdf_of(note).startswith(b"%PDF")
    assert ledger_kinds(done.public_id) == ["invoice.sent", "invoice.credited"]
    assert ledger_kinds(note.public_id) == ["invoice.sent"]
    [event] = [e for e in thread_events(done) if e["type"] == "invoice.credited"]
    assert event["credit_note"]["number"] == note.number
    assert event["invoice"]["balance"] == "1090.69"


def test_crediting_the_whole_balance_settles_the_invoice_as_paid(acme, staff):
    done = sent(
        staff,
        acme,
        lines=[{"description": "A", "quantity": "1", "unit_price": "50.00", "tax_rate": "0"}],
    )
    services.credit_note_issue(actor=staff, invoice=done, lines=[_line("50.00")])
    done.refresh_from_db()
    assert done.status == Status.PAID and done.balance == 0 and done.paid_at is not None


@pytest.mark.parametrize(
    ("price", "reason"), [("1210.70", "more_than_balance"), ("0", "not_positive")]
)
def test_a_credit_note_never_credits_more_than_the_balance(acme, staff, price, reason):
    done = sent(staff, acme)
    before = _written()
    with pytest.raises(Invalid) as refused:
        services.credit_note_issue(actor=staff, invoice=done, lines=[_line(price)])
    assert refused.value.fields == {"total": reason}
    assert _written() == before


@pytest.mark.parametrize(
    ("state", "code"), [("draft", "not_sent"), ("void", "void"), ("credit_note", "not_an_invoice")]
)
def test_a_credit_note_is_refused_where_it_cannot_apply(acme, staff, state, code):
    target = _in_state(staff, acme, state)
    before = _written()
    with pytest.raises(Conflict) as refused:
        services.credit_note_issue(actor=staff, invoice=target, lines=[_line("1.00")])
    assert refused.value.code == code
    assert _written() == before


def test_a_partially_paid_invoice_is_credited_for_the_rest(acme, staff):
    done = _in_state(staff, acme, "partially_paid")
    rest = done.balance
    services.credit_note_issue(actor=staff, invoice=done, lines=[_line(str(rest))])
    done.refresh_from_db()
    assert done.status == Status.PAID and done.balance == 0


# --- the client's views ------------------------------------------------------------------------


def test_every_view_is_on_the_ledger_and_the_first_per_person_in_the_thread(acme, people, staff):
    done = sent(staff, acme)
    alex, morgan = people["client_admin"], people["client_member"]
    assert services.invoice_viewed(viewer=alex, invoice=done, meta={"ip": "203.0.113.9"})
    assert not services.invoice_viewed(viewer=alex, invoice=done)
    assert services.invoice_viewed(viewer=morgan, invoice=done)
    assert ledger_kinds(done.public_id) == [
        "invoice.sent",
        "invoice.viewed",
        "invoice.viewed",
        "invoice.viewed",
    ]
    viewed = [e for e in thread_events(done) if e["type"] == "invoice.viewed"]
    assert [e["by"]["id"] for e in viewed] == [alex.public_id, morgan.public_id]
    done.refresh_from_db()
    assert done.first_viewed_at is not None


def test_the_firm_s_views_are_not_recorded_and_drafts_are_not_seen(acme, people, staff):
    done = sent(staff, acme)
    assert not services.invoice_viewed(viewer=staff, invoice=done)
    assert ledger_kinds(done.public_id) == ["invoice.sent"]
    with pytest.raises(NotFound):
        services.invoice_viewed(viewer=people["client_admin"], invoice=draft(staff, acme))
    with pytest.raises(NotFound):
        services.invoice_viewed(viewer=people["other_client"], invoice=done)


def test_the_stored_lines_are_what_was_given(acme, staff):
    done = sent(staff, acme)
    assert [(line.description, str(line.net)) for line in done.lines.all()] == [
        (LINES[0]["description"], "1000.0000"),
        (LINES[1]["description"], "9.9900"),
    ]


def test_a_credit_note_s_e_mail_links_to_it_and_a_void_sends_none(
    acme, people, staff, mailoutbox, django_capture_on_commit_callbacks
):
    done = sent(staff, acme)
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_issue(actor=staff, invoice=done, lines=[_line("10.00")])
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert note.number in message.subject
        assert f"/invoices/{note.public_id}/" in message.body
        assert message.attachments == []
    mailoutbox.clear()
    other = sent(staff, acme)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_void(actor=staff, invoice=other, reason="Wrong client")
    assert mailoutbox == []
