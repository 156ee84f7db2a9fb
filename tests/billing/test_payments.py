"""Recording payments (``billing.services.payments``) and ``/api/v1/invoices/INV/payments``:
who may record and see them, the refused cases (overpayment, void, draft, paid, bad fields,
NUL characters) writing nothing, the status moving sent → partially_paid → paid, one ledger
entry and one thread event per payment, the team told, the client e-mailed a receipt with a
link, and a provider's repeated id stored once."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from billing.models import Invoice, Payment, Status
from billing.selectors.payments import payments_of
from billing.services.payments import payment_record
from evidence.models import Entry
from messaging.models import Event, Notification
from tests import factories

API = "/api/v1"
META = {"ip": "203.0.113.7", "user_agent": "Test browser", "authentication": "password"}
STAFF = ("firm_admin", "staff_on_team")
CLIENTS = ("client_admin", "client_member")
OUTSIDERS = ("staff_off_team", "other_client")


@pytest.fixture
def sent(acme, people):
    """A sent invoice of 1,200.00 EUR (1,000.00 and 20 % tax) to Acme."""
    return factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        due=timezone.localdate() + timedelta(days=30),
    )


def stored() -> dict:
    """Everything a refused payment must leave alone."""
    return {
        "payments": Payment.objects.count(),
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
        "notifications": Notification.objects.count(),
        "paid": list(Invoice.objects.order_by("pk").values_list("paid", "status")),
    }


def pay(actor, invoice, amount="100.00", method="bank_transfer", **given):
    return payment_record(
        actor=actor, invoice=invoice, amount=amount, method=method, meta=META, **given
    )


def payment_frames(invoice) -> list[dict]:
    return [
        json.loads(frame)
        for frame in Event.objects.filter(thread=invoice.thread, type="invoice.payment")
        .order_by("seq")
        .values_list("frame", flat=True)
    ]


def send(client, method: str, path: str, data: dict | None = None, **extra):
    return client.generic(
        method, path, json.dumps(data or {}), content_type="application/json", **extra
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the service ------------------------------------------------------------------------


def test_sent_then_partially_paid_then_paid(sent, people, django_capture_on_commit_callbacks):
    staff = people["staff_on_team"]
    assert sent.status == Status.SENT
    with django_capture_on_commit_callbacks(execute=True):
        first = pay(staff, sent, "200.00", reference="Transfer 1")
    sent.refresh_from_db()
    assert (sent.status, sent.paid, sent.balance) == (
        Status.PARTIALLY_PAID,
        Decimal("200.00"),
        Decimal("1000.00"),
    )
    assert sent.paid_at is None
    assert first.recorded_by == staff and first.date == timezone.localdate()
    assert first.reference == "Transfer 1" and first.external_id is None
    with django_capture_on_commit_callbacks(execute=True):
        pay(staff, sent, "1000.00", method="card")
    sent.refresh_from_db()
    assert (sent.status, sent.balance) == (Status.PAID, Decimal("0.00"))
    assert sent.paid_at is not None
    with pytest.raises(Conflict) as paid:
        pay(staff, sent, "0.01")
    assert paid.value.code == "paid"


def test_one_ledger_entry_and_one_thread_event_per_payment(sent, people):
    before = Entry.objects.count()
    payment = pay(people["staff_on_team"], sent, "300.00", reference="SEPA 42")
    entries = list(Entry.objects.filter(index__gte=before))
    assert [e.kind for e in entries] == ["invoice.payment"]
    entry = entries[0]
    payload = json.loads(entry.canonical)["payload"]
    assert entry.subject == sent.public_id
    assert payload["amount"] == "300.00"
    assert payload["method"] == "bank_transfer"
    assert payload["reference"] == "SEPA 42"
    assert payload["balance_after"] == "900.00"
    assert payload["payment"]["id"] == payment.public_id
    assert payload["from"]["ip"] == "203.0.113.7"
    assert payment.ledger_index == entry.index
    frames = payment_frames(sent)
    assert len(frames) == 1
    assert frames[0]["payment"]["amount"] == "300.00"
    assert frames[0]["invoice"]["status"] == "partially_paid"
    assert frames[0]["invoice"]["balance"] == "900.00"
    assert frames[0]["summary"].startswith("Sam Staff recorded a payment of 300.00 EUR")


def test_the_account_team_is_notified_not_the_client(sent, people, acme):
    colleague = factories.staff(accounts=(acme,), name="Cara Colleague")
    pay(people["staff_on_team"], sent)
    told = set(Notification.objects.filter(kind="payment").values_list("user__name", flat=True))
    # The actor is never told; the client's people and other teams' staff are not.
    assert told == {colleague.name}


def test_the_client_gets_a_receipt_with_a_link_and_no_attachment(
    sent, people, django_capture_on_commit_callbacks, settings
):
    settings.ATRIUM_BASE_URL = "https://portal.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        pay(people["staff_on_team"], sent, "200.00")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [people["client_admin"].email, people["client_member"].email]
    )
    message = mail.outbox[0]
    link = f"https://portal.example.com/invoices/{sent.public_id}/"
    assert link in message.body
    assert "200.00 EUR" in message.body and "1000.00 EUR is left" in message.body
    assert message.attachments == []
    assert link in message.alternatives[0][0]


def test_no_receipt_when_the_payment_is_refused(sent, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Invalid):
        pay(people["staff_on_team"], sent, "1200.01")
    assert mail.outbox == []


def test_overpayment_is_refused_and_writes_nothing(sent, people):
    pay(people["staff_on_team"], sent, "1000.00")
    before = stored()
    with pytest.raises(Invalid) as refused:
        pay(people["staff_on_team"], sent, "200.01")
    assert refused.value.fields == {"amount": "more_than_balance"}
    assert stored() == before
    pay(people["staff_on_team"], sent, "200.00")
    sent.refresh_from_db()
    assert sent.status == Status.PAID


def test_a_credit_lowers_what_may_be_paid(sent, people):
    Invoice.objects.filter(pk=sent.pk).update(credited=Decimal("1000.00"))
    sent.refresh_from_db()
    with pytest.raises(Invalid) as refused:
        pay(people["staff_on_team"], sent, "200.01")
    assert refused.value.fields == {"amount": "more_than_balance"}
    pay(people["staff_on_team"], sent, "200.00")
    sent.refresh_from_db()
    assert sent.status == Status.PAID


def test_a_void_invoice_is_not_paid(sent, people):
    Invoice.objects.filter(pk=sent.pk).update(status=Status.VOID, void_reason="Wrong client")
    sent.refresh_from_db()
    before = stored()
    with pytest.raises(Conflict) as refused:
        pay(people["staff_on_team"], sent)
    assert (refused.value.code, refused.value.status) == ("void", 409)
    assert stored() == before


def test_a_draft_is_not_paid(acme, people):
    draft = factories.invoice(acme, by=people["staff_on_team"])
    before = stored()
    with pytest.raises(Conflict) as refused:
        pay(people["staff_on_team"], draft)
    assert refused.value.code == "not_sent"
    assert stored() == before


@pytest.mark.parametrize(
    ("given", "field", "reason"),
    [
        ({"amount": "-5"}, "amount", "negative"),
        ({"amount": "0"}, "amount", "too_small"),
        ({"amount": "12.345"}, "amount", "too_many_decimals"),
        ({"amount": "ten"}, "amount", "not_a_number"),
        ({"amount": 10.5}, "amount", "not_a_number"),
        ({"method": "barter"}, "method", "invalid"),
        ({"method": None}, "method", "invalid"),
        ({"reference": "x" * 201}, "reference", "too_long"),
        ({"reference": 42}, "reference", "invalid"),
        ({"reference": "a\x00b"}, "reference", "nul_character"),
        ({"date": "2026-13-01"}, "date", "invalid"),
        ({"date": "tomorrow"}, "date", "invalid"),
        ({"date": 20260101}, "date", "invalid"),
    ],
)
def test_bad_fields_are_named_and_write_nothing(sent, people, given, field, reason):
    before = stored()
    with pytest.raises(Invalid) as refused:
        pay(people["staff_on_team"], sent, **given)
    assert refused.value.fields == {field: reason}
    assert stored() == before


def test_a_payment_may_not_be_dated_in_the_future(sent, people):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(Invalid) as refused:
        pay(people["staff_on_team"], sent, date=tomorrow.isoformat())
    assert refused.value.fields == {"date": "in_future"}
    earlier = timezone.localdate() - timedelta(days=3)
    assert pay(people["staff_on_team"], sent, date=earlier.isoformat()).date == earlier


def test_amounts_follow_the_currency(acme, people):
    yen = factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        currency="JPY",
        lines=(("Design", "1", "10000", "10"),),
    )
    with pytest.raises(Invalid) as refused:
        pay(people["staff_on_team"], yen, "100.5")
    assert refused.value.fields == {"amount": "too_many_decimals"}
    pay(people["staff_on_team"], yen, "11000")
    yen.refresh_from_db()
    assert yen.status == Status.PAID


def test_a_repeated_provider_id_returns_the_first_payment(sent, people):
    first = payment_record(
        actor=None, invoice=sent, amount="100.00", method="online", external_id="cs_test_1"
    )
    before = stored()
    again = payment_record(
        actor=None, invoice=sent, amount="100.00", method="online", external_id="cs_test_1"
    )
    assert again.pk == first.pk
    assert stored() == before
    assert first.recorded_by is None


@pytest.mark.parametrize(
    ("role", "outcome"),
    [
        ("firm_admin", None),
        ("staff_on_team", None),
        ("staff_off_team", NotFound),
        ("client_admin", Forbidden),
        ("client_member", Forbidden),
        ("other_client", NotFound),
    ],
)
def test_who_may_record_a_payment(sent, people, role, outcome):
    if outcome is None:
        assert pay(people[role], sent).recorded_by == people[role]
        return
    before = stored()
    with pytest.raises(outcome) as refused:
        pay(people[role], sent)
    if outcome is Forbidden:
        assert refused.value.code == "team_only"
    assert stored() == before


def test_a_deactivated_staff_member_may_not_record(sent, people):
    staff = people["staff_on_team"]
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    with pytest.raises(NotFound):
        pay(staff, sent)


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("firm_admin", True),
        ("staff_on_team", True),
        ("staff_off_team", False),
        ("client_admin", True),
        ("client_member", True),
        ("other_client", False),
    ],
)
def test_who_sees_the_payments(sent, people, role, sees, django_assert_num_queries):
    pay(people["staff_on_team"], sent, "100.00")
    pay(people["staff_on_team"], sent, "50.00")
    if not sees:
        with pytest.raises(NotFound):
            payments_of(people[role], sent)
        return
    assert [p.amount for p in payments_of(people[role], sent)] == [
        Decimal("100.00"),
        Decimal("50.00"),
    ]


def test_clients_never_see_payments_of_a_draft(acme, people):
    draft = factories.invoice(acme, by=people["staff_on_team"])
    with pytest.raises(NotFound):
        payments_of(people["client_admin"], draft)
    assert list(payments_of(people["staff_on_team"], draft)) == []


# --- the API ----------------------------------------------------------------------------


def path(invoice) -> str:
    return f"{API}/invoices/{invoice.public_id}/payments"


def test_api_records_a_payment(sent, people):
    answer = send(
        signed_in(people["staff_on_team"]),
        "POST",
        path(sent),
        {"amount": "200.00", "method": "bank_transfer", "reference": "T-1"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["payment"]["amount"] == "200.00"
    assert body["payment"]["method"] == "bank_transfer"
    assert body["payment"]["reference"] == "T-1"
    assert body["payment"]["date"] == timezone.localdate().isoformat()
    assert body["invoice"]["id"] == sent.public_id
    assert body["invoice"]["status"] == "partially_paid"
    assert (body["invoice"]["paid"], body["invoice"]["balance"]) == ("200.00", "1000.00")
    entry = Entry.objects.get(kind="invoice.payment")
    payload = json.loads(entry.canonical)["payload"]
    assert payload["from"]["authentication"] == "password"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("firm_admin", 201),
        ("staff_on_team", 201),
        ("staff_off_team", 404),
        ("client_admin", 403),
        ("client_member", 403),
        ("other_client", 404),
    ],
)
def test_api_who_may_record(sent, people, role, status):
    answer = send(
        signed_in(people[role]), "POST", path(sent), {"amount": "10.00", "method": "cash"}
    )
    assert answer.status_code == status
    assert Payment.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("firm_admin", 200),
        ("staff_on_team", 200),
        ("staff_off_team", 404),
        ("client_admin", 200),
        ("client_member", 200),
        ("other_client", 404),
    ],
)
def test_api_who_may_list(sent, people, role, status):
    pay(people["staff_on_team"], sent, "10.00")
    answer = signed_in(people[role]).get(path(sent))
    assert answer.status_code == status
    if status == 200:
        body = answer.json()
        assert body["invoice"] == sent.public_id
        assert [p["amount"] for p in body["payments"]] == ["10.00"]


def test_api_list_queries_do_not_grow_with_payments(
    sent, people, django_assert_num_queries, django_assert_max_num_queries
):
    client = signed_in(people["client_admin"])
    pay(people["staff_on_team"], sent, "10.00")
    client.get(path(sent))  # warm the session and the permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(path(sent)).status_code == 200
    for _ in range(5):
        pay(people["staff_on_team"], sent, "10.00")
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(path(sent)).json()["payments"]) == 6


def test_api_anonymous_is_401(sent):
    assert Client().get(path(sent)).status_code == 401
    assert send(Client(), "POST", path(sent), {"amount": "1", "method": "cash"}).status_code == 401


def test_api_unknown_invoice_is_404(people):
    answer = signed_in(people["staff_on_team"]).get(f"{API}/invoices/inv_nope/payments")
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"amount": "1", "method": "cash", "tip": "1"}, 400, "unknown_field", {"tip": "unknown"}),
        ({"method": "cash"}, 400, "invalid", {"amount": "required"}),
        ({"amount": "1"}, 400, "invalid", {"method": "required"}),
        ({"amount": "1300.00", "method": "cash"}, 400, "invalid", {"amount": "more_than_balance"}),
        ({"amount": "1", "method": "cash", "reference": "a\x00"}, 400, "nul_character", None),
    ],
)
def test_api_bad_bodies(sent, people, body, status, code, fields):
    answer = send(signed_in(people["staff_on_team"]), "POST", path(sent), body)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    if fields is not None:
        assert answer.json()["error"]["fields"] == fields
    assert Payment.objects.count() == 0


def test_api_takes_json_only(sent, people):
    answer = signed_in(people["staff_on_team"]).post(path(sent), {"amount": "1", "method": "cash"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_json"
    assert Payment.objects.count() == 0


def test_api_paying_void_and_draft_is_409(sent, acme, people):
    client = signed_in(people["staff_on_team"])
    Invoice.objects.filter(pk=sent.pk).update(status=Status.VOID)
    answer = send(client, "POST", path(sent), {"amount": "1", "method": "cash"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "void")
    draft = factories.invoice(acme, by=people["staff_on_team"])
    answer = send(client, "POST", path(draft), {"amount": "1", "method": "cash"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "not_sent")


def test_api_needs_csrf(sent, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["staff_on_team"])
    answer = send(client, "POST", path(sent), {"amount": "1", "method": "cash"})
    assert answer.status_code == 403
    assert Payment.objects.count() == 0
