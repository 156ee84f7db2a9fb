"""Two client admins deciding on one proposal at the same moment, on PostgreSQL (where
writers really run at once): one decision wins, the other finds it decided (409
``not_open``), and there is one invoice and one deciding ledger entry. The proposal's row
lock is what makes the second see the first."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.errors import Conflict
from billing.models import Invoice, Proposal, ProposalStatus
from billing.services import proposals as services
from evidence.models import Entry
from tests import factories
from tests.concurrency import at_once
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_an_acceptance_and_a_decline_at_once(acme, people, attempt):
    alex = people["client_admin"]
    other = factories.client(acme, role="admin", name="Ada Admin")
    proposal = factories.proposal(acme, by=people["staff_on_team"], sent=True)
    results = at_once(
        lambda: services.proposal_accept(
            actor=alex, proposal=proposal, consent=True, name="Alex Acme", password=PASSWORD
        ),
        lambda: services.proposal_decline(actor=other, proposal=proposal, reason="Too dear"),
    )
    won = [r for r in results if isinstance(r, Proposal)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "not_open"
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.status == won[0].status
    decided = Entry.objects.filter(
        subject=proposal.public_id, kind__in=["proposal.accepted", "proposal.declined"]
    )
    assert decided.count() == 1
    assert Invoice.objects.count() == (1 if stored.status == ProposalStatus.ACCEPTED else 0)
