"""One guardian checker per person for a request that changes nothing: a page asks each
permission query once, however many times it checks; outside such a request (and after a
permission changes inside one) every check asks anew."""

from __future__ import annotations

import collections

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import permissions
from accounts.permissions import Action
from accounts.services import client_accounts
from tests import factories

# How a guardian checker asks for one's permissions on an object (the user's, the groups').
CHECKER_QUERY = 'SELECT "auth_permission"."codename"'


def permission_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].startswith(CHECKER_QUERY)]


def test_the_account_page_asks_each_permission_query_once(client, people, acme):
    """The account page checks the account several times (the page, its panels, its
    links): the user's and the groups' permissions on it are fetched once each."""
    for role in ("staff_on_team", "client_admin"):
        client.force_login(people[role])
        url = reverse("frontend:account", args=[acme.public_id])
        client.get(url)  # warm the caches (content types)
        with CaptureQueriesContext(connection) as page:
            assert client.get(url).status_code == 200
        asked = permission_queries(page.captured_queries)
        assert len(asked) == 2, role
        repeated = [s for s, n in collections.Counter(asked).items() if n > 1]
        assert repeated == [], role


def test_outside_a_request_every_check_asks_anew(people, acme, django_assert_num_queries):
    staff = people["staff_on_team"]
    assert permissions.can_on_account(staff, Action.VIEW, acme)
    with django_assert_num_queries(2):
        assert permissions.can_on_account(staff, Action.CHANGE, acme)
    with permissions.checkers_shared(), django_assert_num_queries(2):
        assert permissions.can_on_account(staff, Action.VIEW, acme)
        assert permissions.can_on_account(staff, Action.CHANGE, acme)
        assert permissions.can_on_account(staff, Action.INVITE, acme)


def test_shared_checkers_are_per_person_and_forget_a_change(people, acme):
    staff, other = people["staff_on_team"], people["staff_off_team"]
    newcomer = factories.user(name="Nina New")
    with permissions.checkers_shared():
        assert permissions.can_on_account(staff, Action.VIEW, acme)
        assert not permissions.can_on_account(other, Action.VIEW, acme)
        assert not permissions.can_on_account(newcomer, Action.VIEW, acme)
        client_accounts.membership_add(actor=None, account=acme, user=newcomer)
        assert permissions.can_on_account(newcomer, Action.VIEW, acme)
        client_accounts.team_unassign(actor=None, account=acme, user=staff)
        assert not permissions.can_on_account(staff, Action.VIEW, acme)
    # Nothing is kept once the request is over.
    assert permissions._request_checkers.get() is None


def test_a_request_that_writes_checks_anew(client, people, acme):
    """Only GET and HEAD share checkers: a write sees each permission as stored."""
    client.force_login(people["staff_on_team"])
    seen = []
    original = permissions._checker

    def spy(user):
        seen.append(permissions._request_checkers.get())
        return original(user)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(permissions, "_checker", spy)
        client.post(reverse("frontend:account_rename", args=[acme.public_id]), {"name": "Acme Ltd"})
        assert seen and all(shared is None for shared in seen)
        seen.clear()
        client.get(reverse("frontend:account", args=[acme.public_id]))
        assert seen and all(shared is not None for shared in seen)
