"""``/api/v1/approvals`` over HTTP (docs/api.md): shapes, status codes, pagination, the
permission matrix (own approver, non-approver member, other account, staff on and off the
team, firm admin, privileged granted or not, revoked, deactivated, anonymous), CSRF, and
constant query counts on the list and the detail."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import permissions
from accounts.services import client_accounts, users
from approvals.models import ApprovalRequest, Decision, Status, ViewReceipt
from evidence.models import Entry
from tests import factories
from tests.approvals.conftest import API, ask, entries, upload, url
from vault.services import document_revoke


def post(client, path: str, data: dict | None = None, **extra):
    return client.post(path, json.dumps(data or {}), content_type="application/json", **extra)


def code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def design(acme, people):
    return upload(people["staff_on_team"], acme, b"design v1\n", title="Homepage design")


def create_body(acme, people, design, **change) -> dict:
    return {
        "account": acme.public_id,
        "title": "Homepage design",
        "message": "Have a look.",
        "versions": [design.latest_version.public_id],
        "approvers": [people["client_admin"].public_id],
        "policy": "any",
        **change,
    }


# --- creating ----------------------------------------------------------------------------------


def test_create_answers_201_with_the_request(client, acme, people, design):
    client.force_login(people["staff_on_team"])
    response = post(client, API, create_body(acme, people, design, due="2099-01-31"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("apr_")
    assert body["status"] == "open"
    assert body["policy"] == "any"
    assert body["due"] == "2099-01-31"
    assert body["overdue"] is False
    assert body["versions"][0]["id"] == design.latest_version.public_id
    assert body["versions"][0]["sha256"] == design.latest_version.sha256
    assert body["versions"][0]["document"] == {"id": design.public_id, "title": design.title}
    assert body["approvers"] == [
        {
            "id": people["client_admin"].public_id,
            "name": people["client_admin"].name,
            "initials": people["client_admin"].initials,
            "avatar": None,
            "verdict": None,
            "decision": None,
        }
    ]
    assert body["decisions"] == []
    assert body["counts"] == {
        "approvers": 1,
        "required": 1,
        "approved": 0,
        "changes_requested": 0,
        "rejected": 0,
        "undecided": 1,
    }
    assert body["you"]["may_withdraw"] is True
    [requested] = entries(body["id"])
    assert requested["payload"]["from"]["ip"] == "127.0.0.1"
    assert requested["payload"]["from"]["authentication"] == "password"


def test_create_with_at_least(client, acme, people, design):
    client.force_login(people["staff_on_team"])
    body = create_body(
        acme,
        people,
        design,
        approvers=[people["client_admin"].public_id, people["client_member"].public_id],
        policy={"at_least": 2},
    )
    response = post(client, API, body)
    assert response.status_code == 201
    assert response.json()["policy"] == {"at_least": 2}
    assert response.json()["required"] == 2


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"policy": {"at_least": 2}}, 400, "bad_policy"),
        ({"policy": "some"}, 400, "bad_policy"),
        ({"versions": "ver_x"}, 400, "invalid"),
        ({"title": None}, 400, "invalid"),
        ({"account": "acc_aaaaaaaaaaaaaaaaaaaaaaaa"}, 404, "not_found"),
        ({"title": "a\x00b"}, 400, "nul_character"),
    ],
)
def test_create_refusals(client, acme, people, design, change, status, error):
    client.force_login(people["staff_on_team"])
    before = Entry.objects.count()
    response = post(client, API, create_body(acme, people, design, **change))
    assert response.status_code == status
    assert code(response) == error
    assert not ApprovalRequest.objects.exists()
    assert Entry.objects.count() == before


def test_a_body_that_is_not_a_json_object_is_refused(client, acme, people):
    client.force_login(people["staff_on_team"])
    response = client.post(API, "[1]", content_type="application/json")
    assert (response.status_code, code(response)) == (400, "bad_json")


def test_create_by_a_client_is_forbidden_and_by_a_stranger_not_found(client, acme, people, design):
    for role, status in (("client_admin", 403), ("staff_off_team", 404), ("other_client", 404)):
        client.force_login(people[role])
        response = post(client, API, create_body(acme, people, design))
        assert response.status_code == status, role
    assert not ApprovalRequest.objects.exists()


def test_create_without_csrf_token_is_refused(acme, people, design):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["staff_on_team"])
    response = post(browser, API, create_body(acme, people, design))
    assert (response.status_code, code(response)) == (403, "csrf_failed")
    assert not ApprovalRequest.objects.exists()


def test_methods(client, acme, people, design):
    client.force_login(people["staff_on_team"])
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    for path, method in (
        (API, "put"),
        (url(request), "post"),
        (url(request, "/decisions"), "get"),
        (url(request, "/withdraw"), "get"),
        (url(request, "/evidence"), "post"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 405, (path, method)
        assert code(response) == "method_not_allowed"
        assert response["Allow"]


# --- deciding over HTTP --------------------------------------------------------------------------


def test_decide(client, acme, people, design):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    client.force_login(people["client_admin"])
    response = post(client, url(request, "/decisions"), {"verdict": "approve", "comment": "Lovely"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("dec_")
    assert body["verdict"] == "approve"
    assert body["versions"] == [
        {
            "id": design.latest_version.public_id,
            "document": design.public_id,
            "sha256": design.latest_version.sha256,
        }
    ]
    assert body["ledger_index"] == entries(request.public_id)[1]["index"]
    detail = client.get(url(request)).json()
    assert detail["status"] == "approved"
    assert detail["decisions"] == [body]
    assert detail["approvers"][0]["verdict"] == "approve"
    assert [h["kind"] for h in detail["history"]] == [
        "approval.requested",
        "approval.decided",
        "approval.approved",
    ]
    again = post(client, url(request, "/decisions"), {"verdict": "approve"})
    assert (again.status_code, code(again)) == (409, "not_open")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"verdict": "yes"}, "bad_verdict"),
        ({}, "bad_verdict"),
        ({"verdict": "reject"}, "comment_required"),
        ({"verdict": "changes_requested", "comment": ""}, "comment_required"),
    ],
)
def test_decision_refusals(client, acme, people, design, data, error):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    client.force_login(people["client_admin"])
    response = post(client, url(request, "/decisions"), data)
    assert (response.status_code, code(response)) == (400, error)
    assert not Decision.objects.exists()
    assert len(entries(request.public_id)) == 1


def test_withdraw(client, acme, people, design):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    client.force_login(people["staff_on_team"])
    response = post(client, url(request, "/withdraw"), {"reason": "Wrong file"})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["withdraw_reason"] == "Wrong file"
    again = post(client, url(request, "/withdraw"))
    assert (again.status_code, code(again)) == (409, "not_open")


def test_viewed_and_download_record_one_receipt(client, acme, people, design):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    version = design.latest_version
    client.force_login(people["client_admin"])
    first = post(client, url(request, f"/versions/{version.public_id}/viewed"))
    assert first.status_code == 201
    assert first.json()["sha256"] == version.sha256
    assert post(client, url(request, f"/versions/{version.public_id}/viewed")).status_code == 200
    download = client.get(url(request, f"/versions/{version.public_id}/download"))
    assert download.status_code == 302
    assert download["Location"] == f"/api/v1/vault/versions/{version.public_id}/download"
    assert ViewReceipt.objects.count() == 1
    assert [e["kind"] for e in entries(request.public_id)].count("approval.viewed") == 1
    missing = post(client, url(request, "/versions/ver_aaaaaaaaaaaaaaaaaaaaaaaa/viewed"))
    assert missing.status_code == 404


def test_a_download_by_a_reader_who_does_not_decide_leaves_no_receipt(client, acme, people, design):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    client.force_login(people["client_member"])
    version = design.latest_version
    assert client.get(url(request, f"/versions/{version.public_id}/download")).status_code == 302
    viewed = post(client, url(request, f"/versions/{version.public_id}/viewed"))
    assert (viewed.status_code, code(viewed)) == (403, "not_an_approver")
    assert not ViewReceipt.objects.exists()


# --- the permission matrix ---------------------------------------------------------------------

# role -> (detail, decide, withdraw) for a request on an ordinary document whose only approver
# is the client admin.
MATRIX = {
    "client_admin": (200, 201, 403),
    "client_member": (200, 403, 403),
    "staff_on_team": (200, 403, 200),
    "firm_admin": (200, 403, 200),
    "staff_off_team": (404, 404, 404),
    "other_client": (404, 404, 404),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_permission_matrix(client, acme, people, design, role):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    client.force_login(people[role])
    detail, decide, withdraw = MATRIX[role]
    assert client.get(url(request)).status_code == detail
    decided = post(client, url(request, "/decisions"), {"verdict": "approve"})
    assert decided.status_code == decide
    if decide == 403:
        assert code(decided) == "not_an_approver"
    if decide != 201:
        assert post(client, url(request, "/withdraw")).status_code == withdraw
    listed = client.get(f"{API}?account={acme.public_id}")
    assert listed.status_code == detail
    if detail == 200:
        assert [r["id"] for r in listed.json()["approvals"]] == [request.public_id]


def test_anonymous_gets_401_everywhere(client, acme, people, design):
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    for response in (
        client.get(f"{API}?account={acme.public_id}"),
        client.get(f"{API}?awaiting=me"),
        client.get(url(request)),
        post(client, API, create_body(acme, people, design)),
        post(client, url(request, "/decisions"), {"verdict": "approve"}),
        post(client, url(request, "/withdraw")),
    ):
        assert (response.status_code, code(response)) == (401, "not_authenticated")
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.OPEN


def test_a_deactivated_approver_is_signed_out_and_one_removed_from_the_account_not_found(
    client, acme, people, design
):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[design],
        approvers=[people["client_admin"], people["client_member"]],
    )
    client.force_login(people["client_member"])
    client_accounts.membership_remove(actor=None, account=acme, user=people["client_member"])
    assert client.get(url(request)).status_code == 404
    assert post(client, url(request, "/decisions"), {"verdict": "approve"}).status_code == 404
    client.force_login(people["client_admin"])
    users.user_deactivate(user=people["client_admin"])
    response = post(client, url(request, "/decisions"), {"verdict": "approve"})
    assert response.status_code == 401
    assert not Decision.objects.exists()


# role -> (detail, decide) on a privileged request, with or without a grant on its document.
PRIVILEGED = {
    ("client_admin", True): (200, 201),
    ("client_member", True): (200, 403),
    ("client_member", False): (404, 404),
    ("staff_on_team", True): (200, 403),
    ("firm_admin", True): (200, 403),
    ("firm_admin", False): (404, 404),
    ("other_client", True): (404, 404),
}


@pytest.mark.parametrize(("role", "granted"), list(PRIVILEGED))
def test_privileged_matrix(client, acme, people, privileged_world, role, granted):
    document = privileged_world.document
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[document],
        approvers=[people["client_admin"]],
        policy="any",
    )
    assert request.privileged
    assert request.thread == privileged_world.thread
    person = people[role]
    if granted and not permissions.has_privileged_grant(person, document):
        permissions.privileged_grant(document, person)
    client.force_login(person)
    detail, decide = PRIVILEGED[(role, granted)]
    assert client.get(url(request)).status_code == detail
    listed = client.get(f"{API}?account={acme.public_id}")
    if listed.status_code == 200:
        assert (request.public_id in [r["id"] for r in listed.json()["approvals"]]) is (
            detail == 200
        )
    assert post(client, url(request, "/decisions"), {"verdict": "approve"}).status_code == decide


def test_a_revoked_grant_closes_the_request_to_its_approver(client, acme, people, privileged_world):
    document = privileged_world.document
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[document],
        approvers=[people["client_admin"]],
    )
    client.force_login(people["client_admin"])
    assert client.get(url(request)).status_code == 200
    document_revoke(actor=people["staff_on_team"], document=document, user=people["client_admin"])
    assert client.get(url(request)).status_code == 404
    assert post(client, url(request, "/decisions"), {"verdict": "approve"}).status_code == 404
    assert client.get(f"{API}?awaiting=me").json()["approvals"] == []


def test_privileged_requests_need_granted_approvers_and_a_privileged_thread(
    client, acme, people, privileged_world
):
    client.force_login(people["staff_on_team"])
    body = create_body(
        acme,
        people,
        privileged_world.document,
        approvers=[people["client_member"].public_id],
    )
    response = post(client, API, body)
    assert (response.status_code, code(response)) == (400, "approver_not_granted")
    general = acme.threads.get(is_general=True)
    response = post(
        client, API, create_body(acme, people, privileged_world.document, thread=general.public_id)
    )
    assert (response.status_code, code(response)) == (400, "no_privileged_thread")
    # A privileged document outside any matter has no privileged thread to go to.
    loose = upload(people["staff_on_team"], acme, b"loose\n", privileged=True)
    permissions.privileged_grant(loose, people["client_admin"])
    response = post(client, API, create_body(acme, people, loose))
    assert (response.status_code, code(response)) == (400, "no_privileged_thread")
    # Someone not granted the document cannot ask about it.
    client.force_login(people["firm_admin"])
    response = post(client, API, create_body(acme, people, privileged_world.document))
    assert (response.status_code, code(response)) == (400, "invalid")
    assert not ApprovalRequest.objects.exists()


# --- lists ---------------------------------------------------------------------------------------


def test_list_pages_with_a_cursor(client, acme, people, design):
    made = [
        ask(
            people["staff_on_team"],
            acme,
            documents=[design],
            approvers=[people["client_admin"]],
            title=f"Request {n}",
        )
        for n in range(5)
    ]
    client.force_login(people["client_member"])
    seen, cursor = [], ""
    while True:
        page = client.get(f"{API}?account={acme.public_id}&limit=2&cursor={cursor}").json()
        seen += [r["id"] for r in page["approvals"]]
        assert len(page["approvals"]) <= 2
        if page["next"] is None:
            break
        cursor = page["next"]
    assert seen == [r.public_id for r in reversed(made)]
    for bad, field in (
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=apr_aaaaaaaaaaaaaaaaaaaaaaaa", "cursor"),
    ):
        response = client.get(f"{API}?account={acme.public_id}&{bad}")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_awaiting_me_across_accounts(client, acme, globex, people, design):
    both = factories.client(acme, name="Bo Both")
    client_accounts.membership_add(actor=None, account=globex, user=both)
    globex_design = upload(people["staff_off_team"], globex, b"globex\n")
    mine_acme = ask(people["staff_on_team"], acme, documents=[design], approvers=[both])
    mine_globex = ask(people["staff_off_team"], globex, documents=[globex_design], approvers=[both])
    ask(people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]])
    client.force_login(both)
    listed = client.get(f"{API}?awaiting=me").json()
    assert [r["id"] for r in listed["approvals"]] == [mine_globex.public_id, mine_acme.public_id]
    assert post(client, url(mine_acme, "/decisions"), {"verdict": "approve"}).status_code == 201
    listed = client.get(f"{API}?awaiting=me").json()
    assert [r["id"] for r in listed["approvals"]] == [mine_globex.public_id]
    assert client.get(f"{API}?awaiting=you").status_code == 400
    neither = client.get(API)
    assert (neither.status_code, neither.json()["error"]["fields"]) == (
        400,
        {"account": "required"},
    )


def _queries(client, path: str) -> int:
    """Queries of the second of two requests: the first fills per-process caches (content
    types) that a running server has filled long before."""
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_list_and_detail_cost_the_same_whatever_their_size(client, acme, people, design):
    approvers = [people["client_admin"], people["client_member"]]
    first = ask(
        people["staff_on_team"],
        acme,
        documents=[design],
        approvers=approvers,
        policy={"at_least": 2},
    )
    client.force_login(people["client_admin"])
    few = _queries(client, f"{API}?account={acme.public_id}")
    few_awaiting = _queries(client, f"{API}?awaiting=me")
    few_detail = _queries(client, url(first))

    more_people = [factories.client(acme) for _ in range(4)]
    other = upload(people["staff_on_team"], acme, b"other\n")
    for n in range(6):
        request = ask(
            people["staff_on_team"],
            acme,
            documents=[design, other],
            approvers=[*approvers, *more_people],
            title=f"R{n}",
            policy="any",
        )
        if n % 2:
            from approvals import services

            services.approval_decide(
                actor=more_people[0], request=request, verdict="reject", comment="no"
            )
            services.approval_viewed(
                actor=more_people[1], request=request, version_id=design.latest_version.public_id
            )
    from approvals import services

    services.approval_decide(actor=people["client_member"], request=first, verdict="approve")
    services.approval_viewed(
        actor=people["client_member"], request=first, version_id=design.latest_version.public_id
    )
    assert _queries(client, f"{API}?account={acme.public_id}") == few
    assert _queries(client, f"{API}?awaiting=me") == few_awaiting
    assert _queries(client, url(first)) == few_detail
    assert max(few, few_awaiting) <= 9 and few_detail <= 14, (few, few_awaiting, few_detail)


def test_a_new_version_uploaded_over_http_starts_the_next_round(
    client, acme, people, design, django_capture_on_commit_callbacks
):
    from tests.vault import web

    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )
    # The firm's document: its people add the versions (client members may not).
    client.force_login(people["staff_on_team"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            web.versions_url(design.public_id),
            {"file": web.attachment(b"design v2\n", "design-v2.pdf")},
            REMOTE_ADDR="198.51.100.4",
            HTTP_USER_AGENT="Uploader",
        )
    assert response.status_code == 201
    detail = client.get(url(request)).json()
    assert (detail["status"], detail["round"]) == ("open", 2)
    assert detail["versions"][0]["id"] == response.json()["id"]
    reopened = entries(request.public_id)[-1]
    assert reopened["kind"] == "approval.reopened"
    assert reopened["actor"]["id"] == people["staff_on_team"].public_id
    assert reopened["payload"]["from"] == {
        "ip": "198.51.100.4",
        "user_agent": "Uploader",
        "authentication": "password",
    }
