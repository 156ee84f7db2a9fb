"""Signers acting at the same moment, on PostgreSQL (where writers really run at once): two
parallel signers both sign and the request completes exactly once, sealed once; a signature
racing a void either lands before it or is refused as closed. The request's row lock is
what makes the second see the first."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.errors import Conflict
from approvals import services
from approvals.models import SignatureRequest
from tests import factories
from tests.approvals.conftest import kinds
from tests.approvals.test_concurrency import at_once
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def sign(person, request):
    return lambda: services.signature_sign(
        actor=person, request=request, consent=True, name=person.name, password=PASSWORD
    )


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_two_parallel_signers_at_once_complete_it_once(acme, people, sealed_calls, attempt):
    alex, morgan = people["client_admin"], people["client_member"]
    request = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(alex, morgan), order="parallel"
    )
    results = at_once(sign(alex, request), sign(morgan, request))
    assert all(isinstance(r, SignatureRequest) for r in results), results
    assert SignatureRequest.objects.get(pk=request.pk).status == "completed"
    # Without the lock, each would have seen the other unsigned and neither completed it.
    assert kinds(request.public_id).count("signature.completed") == 1
    assert sealed_calls == [request.pk]


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_a_signature_racing_a_void(acme, people, sealed_calls, attempt):
    alex = people["client_admin"]
    request = factories.signature_request(acme, by=people["staff_on_team"], signers=(alex,))
    signed, voided = at_once(
        sign(alex, request),
        lambda: services.signature_void(
            actor=people["staff_on_team"], request=request, reason="Wrong file"
        ),
    )
    stored = SignatureRequest.objects.get(pk=request.pk)
    if isinstance(signed, SignatureRequest):
        assert isinstance(voided, Conflict) and voided.code == "closed"
        assert stored.status == "completed" and sealed_calls == [request.pk]
    else:
        assert isinstance(signed, Conflict) and signed.code == "closed"
        assert stored.status == "voided" and sealed_calls == []
        assert "signature.signed" not in kinds(request.public_id)
