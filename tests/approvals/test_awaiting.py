"""``awaiting``, the "waiting for your approval" list of the client's home: nothing waiting
costs one small query; a request about privileged documents is listed only to an approver
who holds their grant, whether or not other requests are waiting beside it."""

from __future__ import annotations

import pytest

from accounts import permissions
from approvals import selectors
from approvals.services.decisions import approval_decide
from tests.approvals.conftest import ask
from vault.services.grants import document_revoke

pytestmark = pytest.mark.django_db


def waiting_ids(person, **kwargs) -> list[str]:
    return [row["id"] for row in selectors.awaiting(person, **kwargs).rows]


def test_nothing_waiting_is_one_query(people, deliverables, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert waiting_ids(people["client_member"]) == []


def test_open_requests_are_listed_until_decided(acme, people, deliverables):
    admin = people["client_admin"]
    first = ask(people["staff_on_team"], acme, documents=[deliverables.design], approvers=[admin])
    second = ask(people["staff_on_team"], acme, documents=[deliverables.copy], approvers=[admin])
    assert waiting_ids(admin) == [second.public_id, first.public_id]
    visible = permissions.visible_accounts(admin)
    assert waiting_ids(admin, accounts=visible) == [second.public_id, first.public_id]
    approval_decide(actor=admin, request=second, verdict="approve")
    assert waiting_ids(admin) == [first.public_id]
    assert waiting_ids(people["client_member"]) == []


def test_a_privileged_request_is_listed_with_its_grant_only(
    acme, people, deliverables, privileged_world
):
    admin, staff = privileged_world.granted, people["staff_on_team"]
    plain = ask(staff, acme, documents=[deliverables.design], approvers=[admin])
    secret = ask(staff, acme, documents=[privileged_world.document], approvers=[admin])
    assert secret.privileged and not plain.privileged
    visible = permissions.visible_accounts(admin)
    assert waiting_ids(admin, accounts=visible) == [secret.public_id, plain.public_id]
    document_revoke(actor=staff, document=privileged_world.document, user=admin)
    # The grant gone, the privileged request leaves the list; the plain one stays.
    assert waiting_ids(admin) == [plain.public_id]
    assert waiting_ids(admin, accounts=permissions.visible_accounts(admin)) == [plain.public_id]
