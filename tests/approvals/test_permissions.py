"""The approval checks of ``accounts.permissions``, called directly: the actions they know,
and that any other raises instead of being answered."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from accounts.permissions import Action, ApprovalAction
from tests.approvals.conftest import ask

# role -> (view, decide, withdraw) for a request whose only approver is the client admin.
EXPECTED = {
    "firm_admin": (True, False, True),
    "staff_on_team": (True, False, True),
    "staff_off_team": (False, False, False),
    "client_admin": (True, True, False),
    "client_member": (True, False, False),
    "other_client": (False, False, False),
}


@pytest.fixture
def request_(acme, people, deliverables):
    return ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
    )


@pytest.mark.parametrize("role", list(EXPECTED))
def test_the_checks_per_role(people, request_, role):
    person = people[role]
    view, decide, withdraw = EXPECTED[role]
    assert permissions.can_view_approval(person, request_) is view
    assert permissions.can_decide_approval(person, request_) is decide
    assert permissions.can_withdraw_approval(person, request_) is withdraw
    assert permissions.can_on_approval(person, ApprovalAction.VIEW, request_) is view


def test_anonymous_and_deactivated_may_do_nothing(people, request_):
    alex = people["client_admin"]
    alex.is_active = False
    for person in (AnonymousUser(), alex):
        for action in ApprovalAction:
            assert permissions.can_on_approval(person, action, request_) is False


@pytest.mark.parametrize("action", [Action.CHANGE, Action.INVITE, "approve", "", None])
def test_an_action_the_approval_check_does_not_name_raises(people, request_, action):
    for person in (people["firm_admin"], AnonymousUser()):
        with pytest.raises(ValueError, match="does not answer for"):
            permissions.can_on_approval(person, action, request_)


def test_deciding_is_not_an_item_action(people, deliverables):
    with pytest.raises(ValueError, match="does not answer for"):
        permissions.can_on_item(people["firm_admin"], ApprovalAction.DECIDE, deliverables.design)


def test_creating_needs_the_team_and_every_document(acme, globex, people, deliverables):
    documents = [deliverables.design, deliverables.copy]
    assert permissions.can_create_approval(people["staff_on_team"], acme, documents)
    assert permissions.can_create_approval(people["firm_admin"], acme, documents)
    assert not permissions.can_create_approval(people["client_admin"], acme, documents)
    assert not permissions.can_create_approval(people["staff_off_team"], acme, documents)
    # A document of another account is never part of this account's request.
    assert not permissions.can_create_approval(people["firm_admin"], globex, documents)
