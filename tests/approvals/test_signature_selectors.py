"""Reads of signature requests: the summary's shape, who sees which request (a privileged
document's only by its grantees), what waits for whom, and a fixed number of queries
whatever the number of requests."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import services
from approvals import signature_selectors as selectors
from tests import factories
from tests.factories import PASSWORD


def test_the_summary(acme, people):
    sam, alex, morgan = people["staff_on_team"], people["client_admin"], people["client_member"]
    request = factories.signature_request(
        acme, by=sam, signers=(alex,), approvers=(people["firm_admin"],), viewers=(morgan,)
    )
    request = selectors.signatures_visible(alex).get(pk=request.pk)
    summary = selectors.summary_json(request)
    assert set(summary) == {
        "id", "title", "status", "order", "due", "overdue", "message", "privileged",
        "document", "created_by", "created_at", "closed_at", "void_reason", "signers",
        "counts", "turn", "certificate", "signed", "sealed_at", "url",
    }  # fmt: skip
    assert summary["id"].startswith("sig_") and summary["url"] == f"/signatures/{summary['id']}/"
    assert summary["document"] == {
        "version": request.version.public_id,
        "document": request.version.document.public_id,
        "title": "Service agreement",
        "filename": "agreement.pdf",
        "size": request.version.size,
        "sha256": request.sha256,
        "pdf": True,
    }
    assert summary["created_by"] == {"id": sam.public_id, "name": sam.name, "email": sam.email}
    assert [
        (s["user"]["id"], s["role"], s["position"], s["status"]) for s in summary["signers"]
    ] == [
        (people["firm_admin"].public_id, "approver", 0, "pending"),
        (alex.public_id, "signer", 1, "waiting"),
        (morgan.public_id, "viewer", 2, "viewer"),
    ]
    assert set(summary["signers"][0]) == {
        "user", "role", "position", "status", "viewed_at", "consented_at", "acted_at",
        "declined_at", "decline_reason", "method", "signature_name",
    }  # fmt: skip
    assert summary["counts"] == {"signers": 1, "signed": 0, "approvers": 1, "approved": 0}
    assert summary["turn"] == [people["firm_admin"].public_id]
    assert (summary["certificate"], summary["signed"], summary["sealed_at"]) == (None, None, None)
    assert summary["overdue"] is False


def test_who_sees_which_request(acme, globex, people, privileged_world):
    sam = people["staff_on_team"]
    plain = factories.signature_request(acme, by=sam, signers=(people["client_member"],))
    secret = factories.signature_request(
        acme, by=sam, signers=(privileged_world.granted,), document=privileged_world.document
    )
    seen = {
        role: set(selectors.signatures_visible(people[role]).values_list("pk", flat=True))
        for role in factories.ROLES
    }
    assert seen["staff_on_team"] == {plain.pk, secret.pk}
    assert seen["client_admin"] == {plain.pk, secret.pk}  # granted
    assert seen["client_member"] == {plain.pk}
    assert seen["firm_admin"] == {plain.pk}  # no grant on the privileged document
    assert seen["staff_off_team"] == seen["other_client"] == set()
    assert list(selectors.signatures_visible(sam, account=globex)) == []
    assert list(selectors.signatures_visible(sam, status="completed")) == []


def test_waiting_for_is_whose_turn_it_is(acme, people):
    sam, alex, morgan = people["staff_on_team"], people["client_admin"], people["client_member"]
    first = factories.signature_request(acme, by=sam, signers=(alex, morgan))
    second = factories.signature_request(acme, by=sam, signers=(morgan,), title="NDA")
    assert selectors.waiting_for(alex) == [first]
    assert selectors.waiting_for(morgan) == [second]
    services.signature_sign(actor=alex, request=first, consent=True, name="Alex", password=PASSWORD)
    assert selectors.waiting_for(alex) == []
    assert selectors.waiting_for(morgan) == [first, second]
    assert selectors.waiting_for(morgan, limit=1) == [first]


@pytest.mark.parametrize("many", [False, True])
def test_lists_cost_the_same_whatever_their_length(acme, people, many):
    sam = people["staff_on_team"]
    signers = (people["client_admin"], people["client_member"])
    for n in range(6 if many else 1):
        factories.signature_request(acme, by=sam, signers=signers, title=f"Paper {n}")
    with CaptureQueriesContext(connection) as listed:
        rows = [selectors.summary_json(r) for r in selectors.signatures_visible(sam, account=acme)]
    with CaptureQueriesContext(connection) as waiting:
        [selectors.summary_json(r) for r in selectors.waiting_for(people["client_admin"])]
    assert len(rows) == (6 if many else 1)
    # The requests with their people and versions, then their participants.
    assert len(listed) == 2, [q["sql"] for q in listed.captured_queries]
    # Whether anything waits, then the requests, then their participants.
    assert len(waiting) == 3


def test_nothing_waiting_costs_one_query(acme, people):
    factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["client_member"],), title="Paper"
    )
    with CaptureQueriesContext(connection) as waiting:
        assert selectors.waiting_for(people["client_admin"]) == []
    assert len(waiting) == 1
