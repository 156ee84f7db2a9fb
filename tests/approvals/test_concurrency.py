"""Approvers deciding at the same moment, on PostgreSQL (where writers really run at once):
each decision is stored once, the request's final status is what the policy says, and the
ledger holds exactly one entry per decision and one closing. The request's row lock is what
makes the second decider see the first."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.errors import Conflict
from approvals import services
from approvals.models import ApprovalRequest, Decision, Status
from tests.approvals.conftest import ask, kinds, upload
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def decide(person, request, verdict="approve"):
    return lambda: services.approval_decide(
        actor=person, request=request, verdict=verdict, comment="why"
    )


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_two_approvers_at_once_under_all(acme, people, attempt):
    alex, morgan = people["client_admin"], people["client_member"]
    design = upload(people["staff_on_team"], acme, f"design {attempt}\n".encode())
    request = ask(people["staff_on_team"], acme, documents=[design], approvers=[alex, morgan])
    results = at_once(decide(alex, request), decide(morgan, request))
    assert all(isinstance(r, Decision) for r in results), results
    stored = ApprovalRequest.objects.get(pk=request.pk)
    # Without the lock, each would have counted only its own approval and left it open.
    assert stored.status == Status.APPROVED
    assert Decision.objects.filter(request=request).count() == 2
    assert kinds(request.public_id) == [
        "approval.requested",
        "approval.decided",
        "approval.decided",
        "approval.approved",
    ]


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_under_any_the_second_finds_it_closed(acme, people, attempt):
    alex, morgan = people["client_admin"], people["client_member"]
    design = upload(people["staff_on_team"], acme, f"design {attempt}\n".encode())
    request = ask(
        people["staff_on_team"], acme, documents=[design], approvers=[alex, morgan], policy="any"
    )
    results = at_once(decide(alex, request), decide(morgan, request, "reject"))
    decided = [r for r in results if isinstance(r, Decision)]
    refused = [r for r in results if isinstance(r, Conflict)]
    stored = ApprovalRequest.objects.get(pk=request.pk)
    if len(decided) == 2:
        # The rejection came first (it does not settle "any" with one approver left), then
        # the approval closed it.
        assert [d.verdict for d in sorted(decided, key=lambda d: d.decided_at)] == [
            "reject",
            "approve",
        ]
        assert stored.status == Status.APPROVED
    else:
        [decision], [conflict] = decided, refused
        assert decision.verdict == "approve"
        assert conflict.code == "not_open"
        assert stored.status == Status.APPROVED
    assert Decision.objects.filter(request=request).count() == len(decided)
    assert kinds(request.public_id).count("approval.approved") == 1


def test_one_approver_twice_at_once_is_stored_once(acme, people):
    alex = people["client_admin"]
    design = upload(people["staff_on_team"], acme, b"design\n")
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[design],
        approvers=[alex, people["client_member"]],
    )
    results = at_once(decide(alex, request), decide(alex, request))
    assert sum(isinstance(r, Decision) for r in results) == 1
    [conflict] = [r for r in results if isinstance(r, Conflict)]
    assert conflict.code == "already_decided"
    assert Decision.objects.filter(request=request).count() == 1
    assert kinds(request.public_id).count("approval.decided") == 1
