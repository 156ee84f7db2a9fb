"""Paying online (``billing.online``), offline: the payment link (checked when set, filled in
for the balance), Stripe's amounts in its minor units, the Checkout Session made through a
stand-in for stripe's HTTP client, and the webhook with events signed here exactly as Stripe
signs them (``t=…,v1=HMAC-SHA256(secret, "t.payload")``): a good one records the payment
once however often it arrives; a tampered body, another secret or an old time stamp is 400
with nothing written; a payment above the balance is refused, logged, told to the team, and
answered 200."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import stripe
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.errors import Conflict, Invalid
from billing import online
from billing.models import BillingSettings, Invoice, Payment, Status
from billing.services.payments import payment_record
from evidence.models import Entry
from messaging.models import Event
from tests import factories

SECRET_KEY = "sk_test_atrium"
WEBHOOK_SECRET = "whsec_test_atrium"
WEBHOOK = "/billing/stripe/webhook"


@pytest.fixture
def stripe_on(settings):
    settings.ATRIUM_STRIPE_SECRET_KEY = SECRET_KEY
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.ATRIUM_BASE_URL = "https://portal.example.com"
    return settings


@pytest.fixture
def sent(acme, people):
    return factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        number="INV-2026-00007",
        due=timezone.localdate() + timedelta(days=30),
    )


def stored() -> dict:
    return {
        "payments": Payment.objects.count(),
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
        "invoices": list(Invoice.objects.order_by("pk").values_list("paid", "status")),
    }


def signature(payload: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event(
    invoice,
    *,
    session="cs_test_a1",
    amount=120000,
    currency="eur",
    kind="checkout.session.completed",
    status="paid",
) -> str:
    return json.dumps(
        {
            "id": "evt_test_1",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "type": kind,
            "data": {
                "object": {
                    "id": session,
                    "object": "checkout.session",
                    "amount_total": amount,
                    "currency": currency,
                    "client_reference_id": invoice.public_id,
                    "metadata": {"invoice": invoice.public_id},
                    "payment_intent": "pi_test_9",
                    "payment_status": status,
                }
            },
        }
    )


def deliver(payload: str, header: str | None = None):
    extra = {"HTTP_STRIPE_SIGNATURE": header if header is not None else signature(payload)}
    return Client(enforce_csrf_checks=True).post(
        WEBHOOK, payload, content_type="application/json", **extra
    )


# --- the payment link --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http://pay.example.com/{invoice}", "not_https"),
        ("javascript:alert(1)//{invoice}", "not_https"),
        ("https:///{invoice}", "not_https"),
        ("https://pay.example.com/{invoice} x", "not_https"),
        ("https://pay.example.com/{customer}", "unknown_placeholder"),
        ("https://pay.example.com/{amount:>10}", "unknown_placeholder"),
        ("https://pay.example.com/{amount!r}", "unknown_placeholder"),
        ("https://pay.example.com/{0}", "unknown_placeholder"),
        ("https://pay.example.com/{invoice.__class__}", "unknown_placeholder"),
        ("https://pay.example.com/{invoice", "invalid"),
        ("https://pay.example.com/" + "a" * 500, "too_long"),
        ("https://pay.example.com/\x00", "nul_character"),
        (42, "invalid"),
    ],
)
def test_a_bad_payment_link_is_refused(value, reason):
    with pytest.raises(Invalid) as refused:
        online.payment_link_template_checked(value)
    assert refused.value.fields == {"payment_link_template": reason}


def test_a_good_payment_link_is_kept():
    value = "https://pay.example.com/i/{invoice}?n={number}&a={amount}&c={currency}"
    assert online.payment_link_template_checked(f"  {value} ") == value
    assert online.payment_link_template_checked("") == ""
    assert online.payment_link_template_checked(None) == ""


def test_pay_url_fills_in_the_balance(sent, people, db):
    BillingSettings.objects.update_or_create(
        singleton=True,
        defaults={"payment_link_template": "https://pay.example.com/{number}?a={amount}{currency}"},
    )
    assert online.pay_url(sent) == "https://pay.example.com/INV-2026-00007?a=1200.00EUR"
    payment_record(actor=people["staff_on_team"], invoice=sent, amount="200.00", method="cash")
    sent.refresh_from_db()
    assert online.pay_url(sent) == "https://pay.example.com/INV-2026-00007?a=1000.00EUR"
    payment_record(actor=people["staff_on_team"], invoice=sent, amount="1000.00", method="cash")
    sent.refresh_from_db()
    assert online.pay_url(sent) is None


def test_pay_url_quotes_the_number(acme, people):
    BillingSettings.objects.update_or_create(
        singleton=True, defaults={"payment_link_template": "https://pay.example.com/{number}"}
    )
    odd = factories.invoice(acme, by=people["staff_on_team"], sent=True, number="A/1 ?&")
    assert online.pay_url(odd) == "https://pay.example.com/A%2F1%20%3F%26"


def test_no_pay_url_without_a_template_or_for_a_draft_or_void(sent, acme, people):
    assert online.pay_url(sent) is None
    BillingSettings.objects.update_or_create(
        singleton=True, defaults={"payment_link_template": "https://pay.example.com/{invoice}"}
    )
    draft = factories.invoice(acme, by=people["staff_on_team"])
    assert online.pay_url(draft) is None
    Invoice.objects.filter(pk=sent.pk).update(status=Status.VOID)
    sent.refresh_from_db()
    assert online.pay_url(sent) is None


def test_a_stored_template_gone_bad_gives_no_link(sent, caplog):
    BillingSettings.objects.update_or_create(
        singleton=True, defaults={"payment_link_template": "http://pay.example.com/{invoice}"}
    )
    assert online.pay_url(sent) is None
    assert "not valid" in caplog.text


def test_payment_options_follow_the_keys(sent, settings):
    settings.ATRIUM_STRIPE_SECRET_KEY = ""
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    assert online.payment_options(sent) == {"checkout": None, "link": None}
    settings.ATRIUM_STRIPE_SECRET_KEY = SECRET_KEY
    assert online.payment_options(sent) == {
        "checkout": f"/invoices/{sent.public_id}/pay",
        "link": None,
    }


# --- Stripe's amounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("12.00", "EUR", 1200),
        ("0.01", "USD", 1),
        ("1200", "JPY", 1200),
        ("5000", "KRW", 5000),
        ("12.340", "KWD", 12340),
        ("1.000", "BHD", 1000),
        ("500", "ISK", 50000),
        ("10.50", "HUF", 1050),
    ],
)
def test_stripe_amounts_in_its_minor_units(amount, currency, expected):
    assert online.stripe_amount(Decimal(amount), currency) == expected
    assert online.from_stripe_amount(expected, currency) == Decimal(amount)


def test_a_three_decimal_amount_stripe_cannot_charge_exactly():
    with pytest.raises(Conflict) as refused:
        online.stripe_amount(Decimal("12.345"), "KWD")
    assert refused.value.code == "not_payable_online"


# --- the Checkout Session -------------------------------------------------------------------


class StripeStandIn(stripe.HTTPClient):
    """Answers Stripe's API like Stripe would, from here, and keeps what it was sent."""

    name = "stand-in"

    def __init__(self, status: int = 200):
        super().__init__()
        self.calls: list[tuple[str, str, dict]] = []
        self.status = status

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        sent = parse_qs(post_data.decode() if isinstance(post_data, bytes) else post_data or "")
        self.calls.append((method, url, {k: v[0] for k, v in sent.items()}))
        if self.status != 200:
            body = {"error": {"type": "api_error", "message": "Stripe is down"}}
            return json.dumps(body), self.status, {}
        body = {
            "id": "cs_test_made",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_made",
        }
        return json.dumps(body), 200, {"request-id": "req_1"}

    def close(self):
        pass


@pytest.fixture
def stand_in(monkeypatch, stripe_on):
    http = StripeStandIn()
    monkeypatch.setattr(
        online,
        "stripe_client",
        lambda: stripe.StripeClient(SECRET_KEY, http_client=http),
    )
    return http


def pay_page(user, invoice) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client.post(f"/invoices/{invoice.public_id}/pay")


def test_checkout_session_for_the_balance(sent, people, stand_in):
    payment_record(actor=people["staff_on_team"], invoice=sent, amount="200.00", method="cash")
    answer = pay_page(people["client_member"], sent)
    assert answer.status_code == 303
    assert answer["Location"] == "https://checkout.stripe.com/c/pay/cs_test_made"
    [(method, url, sent_params)] = stand_in.calls
    assert (method, url) == ("post", "https://api.stripe.com/v1/checkout/sessions")
    page = f"https://portal.example.com/invoices/{sent.public_id}/"
    assert sent_params["mode"] == "payment"
    assert sent_params["line_items[0][price_data][currency]"] == "eur"
    assert sent_params["line_items[0][price_data][unit_amount]"] == "100000"
    assert sent_params["line_items[0][price_data][product_data][name]"] == "Invoice INV-2026-00007"
    assert sent_params["line_items[0][quantity]"] == "1"
    assert sent_params["metadata[invoice]"] == sent.public_id
    assert sent_params["client_reference_id"] == sent.public_id
    assert sent_params["success_url"] == page + "?paid=online"
    assert sent_params["cancel_url"] == page
    assert sent_params["customer_email"] == people["client_member"].email


def test_checkout_amounts_of_zero_and_three_decimal_currencies(acme, people, stand_in):
    yen = factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        currency="JPY",
        lines=(("Design", "1", "10000", "10"),),
    )
    dinar = factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        currency="KWD",
        lines=(("Design", "1", "12.340", "0"),),
    )
    assert pay_page(people["client_admin"], yen).status_code == 303
    assert pay_page(people["client_admin"], dinar).status_code == 303
    amounts = [
        (
            c[2]["line_items[0][price_data][currency]"],
            c[2]["line_items[0][price_data][unit_amount]"],
        )
        for c in stand_in.calls
    ]
    assert amounts == [("jpy", "11000"), ("kwd", "12340")]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("client_admin", 303),
        ("client_member", 303),
        ("staff_on_team", 303),
        ("staff_off_team", 404),
        ("other_client", 404),
    ],
)
def test_who_may_start_paying(sent, people, stand_in, role, status):
    assert pay_page(people[role], sent).status_code == status
    assert len(stand_in.calls) == (1 if status == 303 else 0)


def test_paying_needs_a_sign_in_and_the_csrf_token(sent, people, stand_in):
    anonymous = Client().post(f"/invoices/{sent.public_id}/pay")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["client_admin"])
    assert strict.post(f"/invoices/{sent.public_id}/pay").status_code == 403
    assert stand_in.calls == []


def test_paying_is_off_without_keys(sent, people, settings, stand_in):
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = ""
    assert pay_page(people["client_admin"], sent).status_code == 404
    assert stand_in.calls == []


def test_nothing_to_pay_goes_back_to_the_invoice(sent, acme, people, stand_in):
    payment_record(actor=people["staff_on_team"], invoice=sent, amount="1200.00", method="cash")
    answer = pay_page(people["client_admin"], sent)
    assert answer.status_code == 303
    assert answer["Location"] == f"/invoices/{sent.public_id}/"
    draft = factories.invoice(acme, by=people["staff_on_team"])
    assert pay_page(people["client_admin"], draft).status_code == 404
    assert stand_in.calls == []


def test_stripe_failing_goes_back_to_the_invoice(sent, people, stand_in, caplog):
    stand_in.status = 500
    answer = pay_page(people["client_admin"], sent)
    assert answer.status_code == 303
    assert answer["Location"] == f"/invoices/{sent.public_id}/"
    assert "failed" in caplog.text


# --- the webhook ---------------------------------------------------------------------------


def test_a_signed_event_records_the_payment_once(sent, people, stripe_on):
    payload = event(sent)
    first = deliver(payload)
    assert (first.status_code, first.content) == (200, b"recorded")
    again = deliver(payload)
    assert (again.status_code, again.content) == (200, b"recorded")
    payment = Payment.objects.get()
    assert payment.external_id == "cs_test_a1"
    assert payment.reference == "pi_test_9"
    assert payment.method == "online" and payment.recorded_by is None
    assert payment.amount == Decimal("1200.00")
    sent.refresh_from_db()
    assert sent.status == Status.PAID
    assert Entry.objects.filter(kind="invoice.payment").count() == 1
    assert Event.objects.filter(type="invoice.payment").count() == 1


def test_a_partial_online_payment(sent, stripe_on):
    assert deliver(event(sent, amount=50000)).status_code == 200
    sent.refresh_from_db()
    assert (sent.status, sent.balance) == (Status.PARTIALLY_PAID, Decimal("700.00"))


def test_a_zero_decimal_currency_from_the_provider(acme, people, stripe_on):
    yen = factories.invoice(
        acme,
        by=people["staff_on_team"],
        sent=True,
        currency="JPY",
        lines=(("Design", "1", "10000", "10"),),
    )
    assert deliver(event(yen, amount=11000, currency="jpy")).content == b"recorded"
    yen.refresh_from_db()
    assert yen.status == Status.PAID and yen.paid == Decimal("11000")


def test_a_tampered_body_is_refused(sent, stripe_on, caplog):
    payload = event(sent, amount=100)
    header = signature(payload)
    tampered = payload.replace('"amount_total": 100', '"amount_total": 120000')
    before = stored()
    answer = deliver(tampered, header)
    assert (answer.status_code, answer.content) == (400, b"bad_signature")
    assert stored() == before
    assert "refused" in caplog.text


def test_another_secret_is_refused(sent, stripe_on):
    payload = event(sent)
    before = stored()
    assert deliver(payload, signature(payload, secret="whsec_other")).status_code == 400
    assert stored() == before


def test_an_old_signature_is_refused(sent, stripe_on):
    payload = event(sent)
    before = stored()
    old = signature(payload, at=int(time.time()) - 10 * 60)
    assert deliver(payload, old).status_code == 400
    assert stored() == before


@pytest.mark.parametrize("header", ["", "nonsense", "t=abc,v1=00"])
def test_a_missing_or_garbled_signature_is_refused(sent, stripe_on, header):
    before = stored()
    assert deliver(event(sent), header).status_code == 400
    assert stored() == before


def test_a_signed_body_that_is_not_json_is_refused(stripe_on):
    assert deliver("not json").status_code == 400


def test_the_webhook_is_off_without_keys(sent, settings):
    settings.ATRIUM_STRIPE_SECRET_KEY = ""
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = ""
    assert deliver(event(sent)).status_code == 404
    assert Payment.objects.count() == 0


def test_the_webhook_takes_post_only(stripe_on):
    assert Client().get(WEBHOOK).status_code == 405


def test_other_events_are_answered_and_ignored(sent, stripe_on):
    before = stored()
    answer = deliver(event(sent, kind="payment_intent.created"))
    assert (answer.status_code, answer.content) == (200, b"ignored")
    unpaid = deliver(event(sent, status="unpaid"))
    assert (unpaid.status_code, unpaid.content) == (200, b"not_paid")
    assert stored() == before


def test_more_than_the_balance_is_refused_logged_and_told(sent, people, acme, stripe_on, caplog):
    payment_record(actor=people["staff_on_team"], invoice=sent, amount="1000.00", method="cash")
    before = stored()
    answer = deliver(event(sent, amount=50000))
    assert (answer.status_code, answer.content) == (200, b"refused")
    assert stored() == before
    assert "was paid but not recorded: it is more than the balance" in caplog.text
    assert [m.to for m in mail.outbox] == [[people["staff_on_team"].email]]
    assert "500.00 EUR" in mail.outbox[0].body
    assert "cs_test_a1" in mail.outbox[0].body


def test_a_payment_for_a_void_invoice_is_refused_and_told(sent, people, stripe_on, caplog):
    Invoice.objects.filter(pk=sent.pk).update(status=Status.VOID)
    answer = deliver(event(sent))
    assert (answer.status_code, answer.content) == (200, b"refused")
    assert Payment.objects.count() == 0
    assert "(void)" in caplog.text
    assert len(mail.outbox) == 1


def test_an_unknown_invoice_is_told_to_the_firm_admins(sent, people, stripe_on):
    payload = event(sent).replace(sent.public_id, "inv_unknown")
    answer = deliver(payload)
    assert (answer.status_code, answer.content) == (200, b"refused")
    assert [m.to for m in mail.outbox] == [[people["firm_admin"].email]]


def test_another_currency_is_refused(sent, stripe_on):
    answer = deliver(event(sent, currency="usd"))
    assert (answer.status_code, answer.content) == (200, b"refused")
    assert Payment.objects.count() == 0


def test_a_provider_payment_writes_no_person(sent, stripe_on):
    deliver(event(sent))
    entry = Entry.objects.get(kind="invoice.payment")
    body = json.loads(entry.canonical)
    assert body["actor"] is None
    assert body["payload"]["from"] is None
    assert body["payload"]["payment"]["external_id"] == "cs_test_a1"
    frame = json.loads(Event.objects.get(type="invoice.payment").frame)
    assert frame["by"] is None
    assert frame["summary"].startswith("An online payment of 1200.00 EUR on INV-2026-00007")
