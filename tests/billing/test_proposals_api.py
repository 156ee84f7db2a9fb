"""``/api/v1/proposals``: who may do what (per role), JSON in and out, unknown fields and bad
values refused by name, the list's queries constant, and an accepted proposal's evidence
bundle verifying offline with ``evidence/verify.py``."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, Proposal, ProposalStatus
from evidence import keys
from evidence.models import Entry
from evidence.verify import VerificationError, canonical_json, verify_bundle
from tests import factories
from tests.factories import PASSWORD
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

pytestmark = pytest.mark.django_db

API = "/api/v1/proposals"
ROLES = ["firm_admin", "staff_on_team", "staff_off_team", "client_admin", "client_member"]
ROLES = [*ROLES, "other_client"]
LINES = [{"description": "Design", "quantity": "2", "unit_price": "500.00", "tax_rate": "20"}]
SCOPE = b"Scope: five pages.\n"


def url(proposal: Proposal | str, tail: str = "") -> str:
    public_id = proposal if isinstance(proposal, str) else proposal.public_id
    return f"{API}/{public_id}{tail}"


def post(client, path, data=None, method="post"):
    body = json.dumps(data if data is not None else {})
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.fixture
def draft(acme, people):
    return factories.proposal(acme, by=people["staff_on_team"], title="Draft plan")


@pytest.fixture
def sent(acme, people):
    staff = people["staff_on_team"]
    scope = vault_services.document_create(
        actor=staff, account=acme, upload=sealed_upload(SCOPE, "scope.pdf"), title="Scope"
    ).document
    return factories.proposal(acme, by=staff, document=scope.public_id, sent=True)


def accept_body(person, **given) -> dict:
    return {"consent": True, "name": person.name, "password": PASSWORD, **given}


# --- the permission matrix ----------------------------------------------------------------

SEES_DRAFTS = {"firm_admin", "staff_on_team"}
SEES_SENT = {"firm_admin", "staff_on_team", "client_admin", "client_member"}


@pytest.mark.parametrize("role", ROLES)
def test_who_lists_what(client, acme, people, draft, sent, role):
    client.force_login(people[role])
    response = client.get(API, {"account": acme.public_id})
    if role not in SEES_SENT:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    listed = [row["id"] for row in response.json()["proposals"]]
    expected = [sent.public_id, draft.public_id] if role in SEES_DRAFTS else [sent.public_id]
    assert sorted(listed) == sorted(expected)


@pytest.mark.parametrize("role", ROLES)
def test_who_reads_a_draft_and_a_sent_one(client, people, draft, sent, role):
    client.force_login(people[role])
    assert client.get(url(draft)).status_code == (200 if role in SEES_DRAFTS else 404)
    answer = client.get(url(sent))
    assert answer.status_code == (200 if role in SEES_SENT else 404)
    if answer.status_code == 200:
        assert answer.json()["content_sha256"] == sent.content_sha256


CREATE = {"firm_admin": 201, "staff_on_team": 201, "client_admin": 403, "client_member": 403}


@pytest.mark.parametrize("role", ROLES)
def test_who_drafts(client, acme, people, role):
    client.force_login(people[role])
    response = post(
        client,
        API,
        {"account": acme.public_id, "title": "Plan", "currency": "EUR", "lines": LINES},
    )
    assert response.status_code == CREATE.get(role, 404)
    assert Proposal.objects.count() == (1 if response.status_code == 201 else 0)


@pytest.mark.parametrize("role", ROLES)
def test_who_changes_sends_and_deletes_a_draft(client, people, draft, role):
    client.force_login(people[role])
    expected = 200 if role in SEES_DRAFTS else 404
    assert post(client, url(draft), {"title": "New"}, "patch").status_code == expected
    assert post(client, url(draft, "/send")).status_code == expected
    draft.refresh_from_db()
    assert draft.status == ("sent" if expected == 200 else "draft")


@pytest.mark.parametrize("role", ROLES)
def test_who_withdraws(client, people, sent, role):
    client.force_login(people[role])
    response = post(client, url(sent, "/withdraw"), {"reason": "Scope changed"})
    expected = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 403}
    expected["client_member"] = 403
    assert response.status_code == expected.get(role, 404)


@pytest.mark.parametrize("role", ROLES)
def test_only_a_client_admin_accepts_or_declines(client, people, sent, role):
    client.force_login(people[role])
    expected = {"client_admin": 200, "client_member": 403, "firm_admin": 403}
    expected["staff_on_team"] = 403
    response = post(client, url(sent, "/decline"), {"reason": "Too dear"})
    assert response.status_code == expected.get(role, 404)
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "client_admin_only"
    accepted = post(client, url(sent, "/accept"), accept_body(people[role]))
    # Declined already (by the admin), or refused as the decline was.
    assert accepted.status_code == (409 if role == "client_admin" else expected.get(role, 404))


# --- the API's shapes ----------------------------------------------------------------------


def test_create_send_and_accept_over_the_api(client, acme, people, mailoutbox):
    client.force_login(people["staff_on_team"])
    created = post(
        client,
        API,
        {
            "account": acme.public_id,
            "title": "Website redesign",
            "currency": "eur",
            "lines": LINES,
            "valid_until": (timezone.localdate() + timedelta(days=14)).isoformat(),
            "deposit_percent": "50",
            "notes": "Two rounds of changes included.",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["currency"] == "EUR"
    assert (body["subtotal"], body["tax"], body["total"]) == ("1000.00", "200.00", "1200.00")
    assert body["deposit_percent"] == "50" and body["invoice"] is None
    assert body["content_sha256"] is None
    proposal_id = body["id"]
    sent = post(client, url(proposal_id, "/send"))
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    shown = sent.json()["content_sha256"]
    client.force_login(people["client_admin"])
    answer = post(
        client,
        url(proposal_id, "/accept"),
        accept_body(people["client_admin"], content_sha256=shown),
    )
    assert answer.status_code == 200, answer.content
    accepted = answer.json()
    assert accepted["status"] == "accepted" and accepted["accepted_name"] == "Alex Acme"
    assert accepted["invoice"].startswith("inv_")
    invoice = Invoice.objects.get(public_id=accepted["invoice"])
    assert invoice.total == 600 and invoice.proposal.public_id == proposal_id
    again = post(client, url(proposal_id, "/accept"), accept_body(people["client_admin"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_open"


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"name": "Alex", "password": PASSWORD}, 400, "invalid", {"consent": "required"}),
        (
            {"consent": True, "name": "Alex", "password": "guess"},
            400,
            "invalid",
            {"password": "wrong"},
        ),
        ({"consent": True, "password": PASSWORD}, 400, "invalid", {"name": "required"}),
        (
            {"consent": True, "name": "A", "password": PASSWORD, "content_sha256": "ab"},
            409,
            "changed",
            {},
        ),
        (
            {"consent": True, "name": "A", "password": PASSWORD, "signature": "x"},
            400,
            "unknown_field",
            {"signature": "unknown"},
        ),
    ],
)
def test_refused_acceptances_over_the_api(client, people, sent, body, status, code, fields):
    client.force_login(people["client_admin"])
    entries = Entry.objects.count()
    response = post(client, url(sent, "/accept"), body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error.get("fields", {}) == fields
    assert Entry.objects.count() == entries
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SENT and sent.invoice is None


def test_expired_over_the_api(client, people, sent):
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.localdate() - timedelta(1))
    client.force_login(people["client_admin"])
    shown = client.get(url(sent)).json()
    assert shown["status"] == "expired"
    response = post(client, url(sent, "/accept"), accept_body(people["client_admin"]))
    assert response.status_code == 409 and response.json()["error"]["code"] == "expired"


def test_bad_bodies_are_refused_by_name(client, acme, people, draft, sent):
    client.force_login(people["staff_on_team"])
    cases = [
        (
            API,
            "post",
            {
                "account": acme.public_id,
                "title": "T",
                "currency": "EUR",
                "lines": LINES,
                "colour": "red",
            },
            "unknown_field",
            {"colour": "unknown"},
        ),
        (
            API,
            "post",
            {"title": "T", "currency": "EUR", "lines": LINES},
            "invalid",
            {"account": "required"},
        ),
        (
            API,
            "post",
            {
                "account": acme.public_id,
                "title": "T",
                "currency": "EUR",
                "lines": [{**LINES[0], "quantity": "-2"}],
            },
            "invalid",
            {"lines[0].quantity": "negative"},
        ),
        (
            API,
            "post",
            {
                "account": acme.public_id,
                "title": "T",
                "currency": "EUR",
                "lines": [{**LINES[0], "unit_price": "ten"}],
            },
            "invalid",
            {"lines[0].unit_price": "not_a_number"},
        ),
        (
            API,
            "post",
            {"account": acme.public_id, "title": "T", "currency": "ZZZ", "lines": LINES},
            "unknown_currency",
            {"currency": "unknown_currency"},
        ),
        (
            API,
            "post",
            {
                "account": acme.public_id,
                "title": "T",
                "currency": "EUR",
                "lines": [{**LINES[0], "tax_rate": "101"}],
            },
            "invalid",
            {"lines[0].tax_rate": "too_large"},
        ),
        (url(draft), "patch", {}, "nothing_to_change", {}),
        (url(draft), "patch", {"account": acme.public_id}, "unknown_field", {"account": "unknown"}),
        (url(sent, "/withdraw"), "post", {}, "invalid", {"reason": "required"}),
        (url(draft, "/send"), "post", {"now": True}, "unknown_field", {"now": "unknown"}),
    ]
    for path, method, body, code, fields in cases:
        response = post(client, path, body, method)
        assert response.status_code == 400, (path, body, response.content)
        error = response.json()["error"]
        assert (error["code"], error.get("fields", {})) == (code, fields), (path, body)
    response = post(client, url(sent), {"title": "Changed"}, "patch")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_draft"
    assert client.delete(url(sent)).status_code == 409
    assert client.delete(url(draft)).status_code == 204
    assert client.get(API).status_code == 400  # no account named
    assert client.get(API, {"account": acme.public_id, "status": "lost"}).status_code == 400


def test_a_client_reading_it_is_recorded(client, people, sent):
    client.force_login(people["client_member"])
    client.get(url(sent))
    client.get(url(sent))
    assert Entry.objects.filter(subject=sent.public_id, kind="proposal.viewed").count() == 2


def test_the_list_is_paged_in_constant_queries(client, acme, people, django_assert_num_queries):
    staff = people["staff_on_team"]
    for n in range(3):
        factories.proposal(acme, by=staff, title=f"P{n}", sent=n % 2 == 0)
    client.force_login(people["client_admin"])

    def listed(query):
        return client.get(API, {"account": acme.public_id, **query}).json()

    # Session and user, the account, the permission checks (asked once per request), the
    # page and its lines.
    with django_assert_num_queries(7) as captured:
        first = listed({"limit": "1"})
    few = len(captured.captured_queries)
    for n in range(5):
        factories.proposal(acme, by=staff, title=f"Q{n}", sent=True)
    with django_assert_num_queries(few):
        everything = listed({})
    assert len(everything["proposals"]) == 7  # the sent ones only
    assert first["next"] == first["proposals"][0]["id"]
    order = [row["id"] for row in everything["proposals"]]
    second = listed({"limit": "1", "cursor": first["next"]})
    assert second["proposals"][0]["id"] == order[order.index(first["next"]) + 1]
    bad = client.get(API, {"account": acme.public_id, "cursor": "pro_nothere"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_cursor"
    expired = listed({"status": "sent"})
    assert len(expired["proposals"]) == 7


# --- evidence -----------------------------------------------------------------------------


def test_an_accepted_proposals_bundle_verifies_offline(client, people, sent):
    client.force_login(people["client_admin"])
    client.get(url(sent))
    assert post(client, url(sent, "/accept"), accept_body(people["client_admin"])).status_code == (
        200
    )
    response = client.get(url(sent, "/evidence"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{sent.public_id}.evidence.json"'
    )
    bundle = response.json()
    assert [item["entry"]["kind"] for item in bundle["entries"]] == [
        "proposal.sent",
        "proposal.viewed",
        "proposal.accepted",
    ]
    content = client.get(url(sent, "/content")).content
    assert hashlib.sha256(content).hexdigest() == sent.content_sha256
    assert content == canonical_json(json.loads(content))
    report = verify_bundle(
        bundle, keys.public_key_bytes(), {"proposal.json": content, "scope.pdf": SCOPE}
    )
    assert set(report.matches) == {"proposal.json", "scope.pdf"}
    accepted = bundle["entries"][-1]["entry"]
    assert accepted["content_sha256"] == sent.content_sha256
    assert accepted["payload"]["name"] == "Alex Acme"
    # A changed bundle or a file that is not the proposal is caught.
    changed = json.loads(json.dumps(bundle))
    changed["entries"][-1]["entry"]["payload"]["name"] = "Someone Else"
    with pytest.raises(VerificationError):
        verify_bundle(changed, keys.public_key_bytes())
    with pytest.raises(VerificationError):
        verify_bundle(bundle, keys.public_key_bytes(), {"other.json": content + b" "})


def test_a_draft_has_no_evidence_and_strangers_get_404(client, people, draft, sent):
    client.force_login(people["staff_on_team"])
    response = client.get(url(draft, "/evidence"))
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_sent"
    client.force_login(people["other_client"])
    assert client.get(url(sent, "/evidence")).status_code == 404
    assert client.get(url(sent, "/content")).status_code == 404
