"""The admin shows approval data to firm admins and lets nobody change it: every change goes
through the services, which record it in the ledger."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals import services
from approvals.models import ApprovalRequest, Decision
from tests.approvals.conftest import ask


@pytest.fixture
def decided(acme, people, deliverables):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
    )
    services.approval_decide(actor=people["client_admin"], request=request, verdict="approve")
    return request


def test_firm_admins_read_and_nobody_writes(client, people, decided):
    client.force_login(people["firm_admin"])
    decision = Decision.objects.get()
    for name, obj in (("approvalrequest", decided), ("decision", decision)):
        listing = client.get(reverse(f"admin:approvals_{name}_changelist"))
        assert listing.status_code == 200
        page = client.get(reverse(f"admin:approvals_{name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert client.get(reverse(f"admin:approvals_{name}_add")).status_code == 403
        assert (
            client.post(
                reverse(f"admin:approvals_{name}_delete", args=[obj.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
    assert ApprovalRequest.objects.get(pk=decided.pk).title == decided.title
    assert Decision.objects.count() == 1


def test_others_are_kept_out(client, people, decided):
    client.force_login(people["staff_on_team"])
    response = client.get(reverse("admin:approvals_approvalrequest_changelist"))
    assert response.status_code == 302
