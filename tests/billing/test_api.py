"""``/api/v1/invoices`` and the billing details over HTTP: the permission matrix per role,
every 400 and 409 the issue names, amounts as strings, the PDF's download, and a list whose
query count does not grow with its rows."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, Status
from billing.services import invoices as services
from tests.billing.conftest import LINES, draft, ledger_kinds, sent

pytestmark = pytest.mark.django_db

ROLES = (
    "firm_admin",
    "staff_on_team",
    "staff_off_team",
    "client_admin",
    "client_member",
    "other_client",
)


def _json(client, method, path, data=None):
    body = json.dumps(data if data is not None else {})
    return getattr(client, method)(path, body, content_type="application/json")


def _as(client, people, who):
    client.force_login(people[who])
    return client


def _create_body(acme, **given):
    return {"account": acme.public_id, "currency": "EUR", "lines": LINES, **given}


# --- the permission matrix ---------------------------------------------------------------------

TEAM = {"firm_admin", "staff_on_team"}
CLIENTS = {"client_admin", "client_member"}


def _expected(who, *, team, client, other=404):
    if who in TEAM:
        return team
    if who in CLIENTS:
        return client
    return other


@pytest.mark.parametrize("who", ROLES)
def test_list(client, acme, people, who):
    staff = people["staff_on_team"]
    done = sent(staff, acme)
    waiting = draft(staff, acme)
    response = _as(client, people, who).get(f"/api/v1/invoices?account={acme.public_id}")
    assert response.status_code == _expected(who, team=200, client=200)
    if response.status_code == 200:
        ids = [row["id"] for row in response.json()["invoices"]]
        assert ids == ([waiting.public_id, done.public_id] if who in TEAM else [done.public_id])


@pytest.mark.parametrize("who", ROLES)
def test_get_draft_and_sent(client, acme, people, who):
    staff = people["staff_on_team"]
    done, waiting = sent(staff, acme), draft(staff, acme)
    _as(client, people, who)
    got_draft = client.get(f"/api/v1/invoices/{waiting.public_id}")
    got_sent = client.get(f"/api/v1/invoices/{done.public_id}")
    assert got_draft.status_code == _expected(who, team=200, client=404)
    assert got_sent.status_code == _expected(who, team=200, client=200)
    # Reading over the API records no view.
    assert ledger_kinds(done.public_id) == ["invoice.sent"]


@pytest.mark.parametrize("who", ROLES)
def test_create(client, acme, people, who):
    response = _json(_as(client, people, who), "post", "/api/v1/invoices", _create_body(acme))
    assert response.status_code == _expected(who, team=201, client=403)
    assert Invoice.objects.count() == (1 if who in TEAM else 0)


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("change", ["patch", "delete", "send"])
def test_draft_changes(client, acme, people, who, change):
    waiting = draft(people["staff_on_team"], acme)
    _as(client, people, who)
    path = f"/api/v1/invoices/{waiting.public_id}"
    if change == "patch":
        response = _json(client, "patch", path, {"notes": "Thanks"})
        ok = 200
    elif change == "delete":
        response = client.delete(path)
        ok = 204
    else:
        response = _json(client, "post", path + "/send")
        ok = 200
    assert response.status_code == _expected(who, team=ok, client=404)
    if who not in TEAM:
        waiting.refresh_from_db()
        assert (waiting.status, waiting.notes) == (Status.DRAFT, "")


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("change", ["void", "credit-notes"])
def test_sent_changes(client, acme, people, who, change):
    done = sent(people["staff_on_team"], acme)
    body = (
        {"reason": "Wrong client"}
        if change == "void"
        else {
            "lines": [
                {"description": "Goodwill", "quantity": "1", "unit_price": "5", "tax_rate": "0"}
            ]
        }
    )
    response = _json(
        _as(client, people, who), "post", f"/api/v1/invoices/{done.public_id}/{change}", body
    )
    ok = 200 if change == "void" else 201
    assert response.status_code == _expected(who, team=ok, client=403)
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "team_only"
    done.refresh_from_db()
    assert (done.status == Status.SENT and done.credited == 0) == (who not in TEAM)


@pytest.mark.parametrize("who", ROLES)
def test_pdf(client, acme, people, who):
    staff = people["staff_on_team"]
    done, waiting = sent(staff, acme), draft(staff, acme)
    _as(client, people, who)
    of_draft = client.get(f"/api/v1/invoices/{waiting.public_id}/pdf")
    of_sent = client.get(f"/api/v1/invoices/{done.public_id}/pdf")
    assert of_draft.status_code == _expected(who, team=200, client=404)
    assert of_sent.status_code == _expected(who, team=200, client=200)
    if of_sent.status_code == 200:
        body = of_sent.content
        assert hashlib.sha256(body).hexdigest() == done.pdf_version.sha256
        assert of_sent["Content-Type"] == "application/pdf"
        assert of_sent["Content-Disposition"] == f'attachment; filename="{done.number}.pdf"'
    if of_draft.status_code == 200:
        assert of_draft.content.startswith(b"%PDF")
        assert of_draft["Content-Disposition"].startswith("attachment;")


def test_anonymous_gets_401(client, acme, people):
    assert client.get(f"/api/v1/invoices?account={acme.public_id}").status_code == 401
    assert _json(client, "post", "/api/v1/invoices", _create_body(acme)).status_code == 401


# --- answers -----------------------------------------------------------------------------------


def test_create_answers_the_draft_with_amounts_as_strings(client, acme, people):
    response = _json(
        _as(client, people, "staff_on_team"), "post", "/api/v1/invoices", _create_body(acme)
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("inv_")
    assert (body["status"], body["number"]) == ("draft", None)
    assert (body["subtotal"], body["tax"], body["total"]) == ("1009.99", "200.70", "1210.69")
    assert (body["paid"], body["balance"]) == ("0.00", "1210.69")
    assert body["taxes"] == [
        {"rate": "7", "base": "9.99", "tax": "0.70"},
        {"rate": "20", "base": "1000.00", "tax": "200.00"},
    ]


def test_send_answers_the_numbered_invoice(client, acme, people):
    waiting = draft(people["staff_on_team"], acme)
    response = _json(
        _as(client, people, "staff_on_team"), "post", f"/api/v1/invoices/{waiting.public_id}/send"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "sent" and body["number"].startswith("INV-")
    assert body["content_sha256"] and body["issued"] and body["due"]


def test_the_list_filters_by_status_and_pages(client, acme, people):
    staff = people["staff_on_team"]
    made = [draft(staff, acme) for _ in range(3)]
    services.invoice_send(actor=staff, invoice=made[0])
    _as(client, people, "staff_on_team")
    drafts_only = client.get(f"/api/v1/invoices?account={acme.public_id}&status=draft").json()
    assert [r["id"] for r in drafts_only["invoices"]] == [made[2].public_id, made[1].public_id]
    first = client.get(f"/api/v1/invoices?account={acme.public_id}&limit=2").json()
    assert first["next"] == made[1].public_id
    rest = client.get(
        f"/api/v1/invoices?account={acme.public_id}&limit=2&cursor={first['next']}"
    ).json()
    assert [r["id"] for r in rest["invoices"]] == [made[0].public_id] and rest["next"] is None


def test_the_list_s_queries_do_not_grow_with_its_rows(
    client, acme, people, django_assert_num_queries
):
    staff = people["staff_on_team"]
    _as(client, people, "client_admin")
    path = f"/api/v1/invoices?account={acme.public_id}"
    for _ in range(2):
        sent(staff, acme)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(path).json()["invoices"]) == 2
    for _ in range(4):
        sent(staff, acme)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(path).json()["invoices"]) == 6


# --- 400s and 409s -----------------------------------------------------------------------------


def _line(**given):
    return {"description": "A", "quantity": "1", "unit_price": "1", "tax_rate": "0", **given}


@pytest.mark.parametrize(
    ("given", "field", "reason"),
    [
        ({"lines": [_line(quantity="-2")]}, "lines[0].quantity", "negative"),
        ({"lines": [_line(unit_price="12,50")]}, "lines[0].unit_price", "not_a_number"),
        ({"lines": [_line(unit_price=12.5)]}, "lines[0].unit_price", "not_a_number"),
        ({"lines": [_line(unit_price="-1")]}, "lines[0].unit_price", "negative"),
        ({"currency": "EURO"}, "currency", "unknown_currency"),
        ({"currency": "ZZZ"}, "currency", "unknown_currency"),
        ({"lines": [_line(tax_rate="100.5")]}, "lines[0].tax_rate", "too_large"),
        ({"lines": [_line(tax_rate="-5")]}, "lines[0].tax_rate", "negative"),
        ({"lines": [_line(discount="120")]}, "lines[0].discount", "too_large"),
        ({"lines": []}, "lines", "required"),
        ({"lines": [_line(colour="red")]}, "lines[0].colour", "unknown"),
        ({"due": "2020-02-30"}, "due", "invalid"),
        ({"account": ""}, "account", "required"),
        ({"colour": "red"}, "colour", "unknown"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(client, acme, people, given, field, reason):
    response = _json(
        _as(client, people, "staff_on_team"),
        "post",
        "/api/v1/invoices",
        _create_body(acme, **given),
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {field: reason}
    assert Invoice.objects.count() == 0


def test_unknown_fields_are_refused_everywhere(client, acme, people):
    staff = people["staff_on_team"]
    waiting, done = draft(staff, acme), sent(staff, acme)
    _as(client, people, "staff_on_team")
    for method, path, body in [
        ("patch", f"/api/v1/invoices/{waiting.public_id}", {"number": "X-1"}),
        ("post", f"/api/v1/invoices/{waiting.public_id}/send", {"number": "X-1"}),
        ("post", f"/api/v1/invoices/{done.public_id}/void", {"reason": "a", "why": "b"}),
        ("post", f"/api/v1/invoices/{done.public_id}/credit-notes", {"lines": [], "total": "1"}),
        ("patch", "/api/v1/billing/settings", {"colour": "red"}),
        ("patch", f"/api/v1/accounts/{acme.public_id}/billing", {"iban": "DE00"}),
    ]:
        response = _json(client, method, path, body)
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "unknown_field", path


def test_editing_a_sent_invoice_is_409(client, acme, people):
    done = sent(people["staff_on_team"], acme)
    _as(client, people, "staff_on_team")
    path = f"/api/v1/invoices/{done.public_id}"
    for response in (
        _json(client, "patch", path, {"notes": "changed"}),
        client.delete(path),
        _json(client, "post", path + "/send"),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "not_draft"


def test_void_without_a_reason_is_400_and_twice_is_409(client, acme, people):
    done = sent(people["staff_on_team"], acme)
    _as(client, people, "staff_on_team")
    path = f"/api/v1/invoices/{done.public_id}/void"
    missing = _json(client, "post", path, {})
    assert missing.status_code == 400 and missing.json()["error"]["fields"] == {
        "reason": "required"
    }
    assert _json(client, "post", path, {"reason": "Wrong"}).status_code == 200
    again = _json(client, "post", path, {"reason": "Wrong"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "void"


def test_a_credit_note_over_the_balance_is_400(client, acme, people):
    done = sent(people["staff_on_team"], acme)
    response = _json(
        _as(client, people, "staff_on_team"),
        "post",
        f"/api/v1/invoices/{done.public_id}/credit-notes",
        {"lines": [_line(unit_price="5000")]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"total": "more_than_balance"}


def test_a_credit_note_answers_itself(client, acme, people):
    done = sent(people["staff_on_team"], acme)
    response = _json(
        _as(client, people, "staff_on_team"),
        "post",
        f"/api/v1/invoices/{done.public_id}/credit-notes",
        {"lines": [_line(unit_price="10.00")], "notes": "Goodwill"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["corrects"], body["total"]) == (
        "credit_note",
        done.public_id,
        "10.00",
    )
    assert body["number"].startswith("CN-")


# --- billing details ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_the_firm_s_settings(client, people, who):
    _as(client, people, who)
    read = client.get("/api/v1/billing/settings")
    changed = _json(client, "patch", "/api/v1/billing/settings", {"payment_terms_days": 14})
    staff = who in ("firm_admin", "staff_on_team", "staff_off_team")
    assert read.status_code == (200 if staff else 404)
    assert changed.status_code == (200 if who == "firm_admin" else 403 if staff else 404)
    if who == "firm_admin":
        assert changed.json()["payment_terms_days"] == 14


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"invoice_number_format": "INV-{n}"}, "invoice_number_format"),
        ({"default_currency": "EURO"}, "default_currency"),
        ({"vat_number": "DE123"}, "vat_number"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"payment_link_template": "https://pay.test/{iban}"}, "payment_link_template"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_the_firm_s_settings_refuse_bad_input(client, people, given, field):
    response = _json(_as(client, people, "firm_admin"), "patch", "/api/v1/billing/settings", given)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("who", ROLES)
def test_an_account_s_billing_details(client, acme, people, who):
    _as(client, people, who)
    path = f"/api/v1/accounts/{acme.public_id}/billing"
    read = client.get(path)
    changed = _json(client, "patch", path, {"legal_name": "Acme Industries Ltd"})
    assert read.status_code == _expected(who, team=200, client=200)
    may_change = who in TEAM or who == "client_admin"
    assert changed.status_code == (200 if may_change else 403 if who in CLIENTS else 404)
    if may_change:
        assert changed.json()["legal_name"] == "Acme Industries Ltd"


def test_a_bad_vat_number_is_400(client, acme, people):
    response = _json(
        _as(client, people, "client_admin"),
        "patch",
        f"/api/v1/accounts/{acme.public_id}/billing",
        {"vat_number": "DE000000000"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"vat_number": "invalid"}
