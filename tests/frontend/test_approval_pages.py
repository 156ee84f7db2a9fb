"""The approval pages: what waits for you, an account's requests and the form to ask, one
request with its files, decisions, history and evidence; deciding and withdrawing from the
page. Who sees what follows the approvals' own permission rules, page by page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import ApprovalRequest, Decision, Status
from evidence.keys import public_key_info
from tests.approvals.conftest import ask, new_version, upload


@pytest.fixture
def design(acme, people):
    return upload(people["staff_on_team"], acme, b"design v1\n", title="Homepage design")


@pytest.fixture
def request_(acme, people, design):
    """Sam asks Alex (client admin) to approve the design; Morgan (member) is not asked."""
    return ask(
        people["staff_on_team"], acme, documents=[design], approvers=[people["client_admin"]]
    )


def page(client, user, name, *args):
    client.force_login(user)
    return client.get(reverse(f"frontend:{name}", args=args))


def test_waiting_for_you_lists_the_approvers_open_requests_only(client, people, request_):
    shown = page(client, people["client_admin"], "approvals").content.decode()
    assert request_.title in shown
    assert request_.public_id in shown
    client.logout()
    for other in ("client_member", "staff_on_team", "other_client"):
        assert request_.public_id not in page(client, people[other], "approvals").content.decode()


def test_waiting_for_you_costs_the_same_queries_for_one_request_or_ten(
    client, acme, people, design
):
    approver = people["client_admin"]
    ask(people["staff_on_team"], acme, documents=[design], approvers=[approver])
    client.force_login(approver)
    client.get(reverse("frontend:approvals"))  # the session's first use writes it
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("frontend:approvals"))
    for n in range(9):
        ask(people["staff_on_team"], acme, documents=[design], approvers=[approver], title=f"R{n}")
    with CaptureQueriesContext(connection) as ten:
        response = client.get(reverse("frontend:approvals"))
    assert response.content.decode().count("data-approval-row=") == 10
    assert len(ten) == len(one)


@pytest.mark.parametrize(
    ("role", "status", "form"),
    [
        ("staff_on_team", 200, True),
        ("firm_admin", 200, True),
        ("client_admin", 200, False),
        ("client_member", 200, False),
        ("staff_off_team", 404, False),
        ("other_client", 404, False),
    ],
)
def test_the_account_page_of_approvals_by_role(client, acme, people, request_, role, status, form):
    response = page(client, people[role], "account_approvals", acme.public_id)
    assert response.status_code == status
    if status == 200:
        text = response.content.decode()
        assert request_.public_id in text
        assert ("Ask for approval" in text) is form


def test_staff_ask_for_approval_from_the_page(client, acme, people, design):
    client.force_login(people["staff_on_team"])
    response = client.post(
        reverse("frontend:account_approvals", args=[acme.public_id]),
        {
            "title": "Homepage design, round 2",
            "message": "Please approve.",
            "versions": [design.latest_version.public_id],
            "approvers": [people["client_admin"].public_id, people["client_member"].public_id],
            "policy": "at_least",
            "at_least": "1",
            "due": "",
        },
    )
    created = ApprovalRequest.objects.get(title="Homepage design, round 2")
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:approval", args=[created.public_id])
    assert (created.policy, created.required, created.status) == ("at_least", 1, Status.OPEN)


def test_a_refused_request_keeps_what_was_chosen_and_writes_nothing(client, acme, people, design):
    client.force_login(people["staff_on_team"])
    response = client.post(
        reverse("frontend:account_approvals", args=[acme.public_id]),
        {"title": "No approvers", "versions": [design.latest_version.public_id], "policy": "all"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'role="status"' in text or "flash-error" in text
    assert f'value="{design.latest_version.public_id}" checked' in text
    assert 'value="No approvers"' in text
    assert not ApprovalRequest.objects.exists()


def test_clients_cannot_ask_for_approval(client, acme, people, design):
    client.force_login(people["client_admin"])
    response = client.post(
        reverse("frontend:account_approvals", args=[acme.public_id]),
        {
            "title": "Sneaky",
            "versions": [design.latest_version.public_id],
            "approvers": [people["client_admin"].public_id],
            "policy": "all",
        },
    )
    assert response.status_code == 403
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("role", "status", "decides"),
    [
        ("client_admin", 200, True),
        ("client_member", 200, False),
        ("staff_on_team", 200, False),
        ("firm_admin", 200, False),
        ("staff_off_team", 404, False),
        ("other_client", 404, False),
    ],
)
def test_the_request_page_by_role(client, people, request_, role, status, decides):
    response = page(client, people[role], "approval", request_.public_id)
    assert response.status_code == status
    if status != 200:
        return
    text = response.content.decode()
    assert ("Send my decision" in text) is decides
    assert ("Withdraw the request" in text) is (role in ("staff_on_team", "firm_admin"))
    version = request_.bound.get().version
    assert version.sha256[:12] in text
    assert f"/api/v1/approvals/{request_.public_id}/versions/{version.public_id}/download" in text
    # The evidence, the verifier and the key to check it with.
    key = public_key_info()
    assert key["fingerprint"] in text
    assert key["public_key"] in text
    assert f"/api/v1/approvals/{request_.public_id}/evidence" in text
    assert reverse("evidence:verifier") in text
    assert "frontend/js/approval.js" in text


def test_the_request_page_answers_anonymous_with_the_sign_in_page(client, request_):
    response = client.get(reverse("frontend:approval", args=[request_.public_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))


def test_the_request_page_shows_its_history_from_the_ledger(client, people, request_):
    text = page(client, people["client_member"], "approval", request_.public_id).content.decode()
    assert "Sam Staff</strong> asked for approval" in text


def decide(client, user, request_, **data):
    client.force_login(user)
    return client.post(reverse("frontend:approval_decide", args=[request_.public_id]), data)


def test_an_approver_decides_from_the_page(client, people, request_):
    version = request_.bound.get().version
    response = decide(
        client, people["client_admin"], request_, verdict="approve", versions=[version.public_id]
    )
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert (decision.verdict, decision.versions[0]["sha256"]) == ("approve", version.sha256)
    request_.refresh_from_db()
    assert request_.status == Status.APPROVED
    text = client.get(response["Location"]).content.decode()
    assert "Your decision is recorded: approved." in text
    assert "Send my decision" not in text


def test_a_rejection_without_a_comment_is_refused_and_nothing_is_recorded(client, people, request_):
    version = request_.bound.get().version
    response = decide(
        client, people["client_admin"], request_, verdict="reject", versions=[version.public_id]
    )
    text = client.get(response["Location"]).content.decode()
    assert "Say what should change, or why not." in text
    assert not Decision.objects.exists()


def test_a_decision_on_files_that_changed_meanwhile_is_refused(
    client, people, request_, design, django_capture_on_commit_callbacks
):
    shown = request_.bound.get().version
    with django_capture_on_commit_callbacks(execute=True):
        new_version(people["staff_on_team"], design)  # a new round, while the page is open
    response = decide(
        client, people["client_admin"], request_, verdict="approve", versions=[shown.public_id]
    )
    assert response.status_code == 302
    assert not Decision.objects.exists()
    request_.refresh_from_db()
    assert (request_.status, request_.round) == (Status.OPEN, 2)


def test_a_non_approver_cannot_decide_from_the_page(client, people, request_):
    version = request_.bound.get().version
    response = decide(
        client, people["client_member"], request_, verdict="approve", versions=[version.public_id]
    )
    assert response.status_code == 302
    assert not Decision.objects.exists()


def test_someone_from_another_account_gets_404_on_deciding(client, people, request_):
    response = decide(client, people["other_client"], request_, verdict="approve")
    assert response.status_code == 404
    assert not Decision.objects.exists()


def test_staff_withdraw_and_clients_cannot(client, people, request_):
    client.force_login(people["client_admin"])
    client.post(reverse("frontend:approval_withdraw", args=[request_.public_id]), {"reason": "x"})
    request_.refresh_from_db()
    assert request_.status == Status.OPEN
    client.force_login(people["staff_on_team"])
    client.post(
        reverse("frontend:approval_withdraw", args=[request_.public_id]), {"reason": "Replaced"}
    )
    request_.refresh_from_db()
    assert (request_.status, request_.withdraw_reason) == (Status.WITHDRAWN, "Replaced")


def test_the_home_page_puts_what_waits_for_the_persons_decision_first(client, people, request_):
    client.force_login(people["client_admin"])
    text = client.get(reverse("frontend:home")).content.decode()
    assert "Waiting for your approval" in text
    assert text.index(request_.public_id) < text.index("Where we are")
    client.force_login(people["client_member"])
    assert "Waiting for your approval" not in client.get(reverse("frontend:home")).content.decode()


def test_an_accounts_approvals_cost_the_same_queries_for_one_request_or_ten(
    client, acme, people, design
):
    staff = people["staff_on_team"]
    ask(staff, acme, documents=[design], approvers=[people["client_admin"]])
    client.force_login(staff)
    url = reverse("frontend:account_approvals", args=[acme.public_id])
    client.get(url)  # the session's first use writes it
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(9):
        ask(staff, acme, documents=[design], approvers=[people["client_admin"]], title=f"R{n}")
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url)
    assert response.content.decode().count("data-approval-row=") == 10
    assert len(ten) == len(one)


def test_a_requests_page_costs_the_same_queries_with_one_decision_or_three(
    client, acme, people, design
):
    approvers = [people["client_admin"], people["client_member"], people["firm_admin"]]
    request_ = ask(people["staff_on_team"], acme, documents=[design], approvers=approvers)
    version = request_.bound.get().version.public_id
    decide(client, approvers[0], request_, verdict="approve", versions=[version])
    url = reverse("frontend:approval", args=[request_.public_id])
    client.force_login(people["staff_on_team"])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for approver in approvers[1:]:
        decide(client, approver, request_, verdict="approve", versions=[version])
    client.force_login(people["staff_on_team"])
    client.get(url)
    with CaptureQueriesContext(connection) as three:
        response = client.get(url)
    assert response.content.decode().count('data-verdict="approve"') == 3
    assert len(three) == len(one)
