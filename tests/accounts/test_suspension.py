"""Suspending a client account shuts the client's own people out at once, on every page, the
API and their open sockets, while the firm's team goes on working on it; lifting the
suspension lets them back in as they were."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from accounts import permissions
from accounts.errors import Forbidden
from accounts.models import AccountStatus, ClientAccount
from accounts.permissions import Action
from accounts.services import client_accounts
from messaging import events
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import subscribe
from tests.messaging.test_ws_permissions import general_of

CLIENTS = ("client_admin", "client_member")
FIRM = ("firm_admin", "staff_on_team")


def account_page(client, account: ClientAccount) -> int:
    return client.get(reverse("frontend:account", args=[account.public_id])).status_code


def suspend(account: ClientAccount, *, actor=None) -> None:
    client_accounts.client_account_set_status(
        actor=actor, account=account, status=AccountStatus.SUSPENDED
    )


@pytest.mark.django_db
def test_a_suspended_account_is_out_of_its_clients_reach_and_in_the_teams(client, people, acme):
    suspend(acme, actor=people["staff_on_team"])
    for role in CLIENTS:
        client.force_login(people[role])
        assert account_page(client, acme) == 404, role
        assert acme not in permissions.accounts_visible_to(people[role])
        assert not permissions.can_on_account(people[role], Action.INVITE, acme)
    for role in FIRM:
        client.force_login(people[role])
        assert account_page(client, acme) == 200, role
        assert permissions.can_on_account(people[role], Action.CHANGE, acme)


@pytest.mark.django_db
def test_lifting_the_suspension_lets_the_clients_back_in_as_they_were(client, people, acme):
    suspend(acme)
    client_accounts.client_account_set_status(
        actor=people["firm_admin"], account=acme, status=AccountStatus.ACTIVE
    )
    for role in CLIENTS:
        client.force_login(people[role])
        assert account_page(client, acme) == 200, role
    assert permissions.can_on_account(people["client_admin"], Action.INVITE, acme)
    assert not permissions.can_on_account(people["client_member"], Action.INVITE, acme)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [*CLIENTS, "staff_off_team", "other_client"])
def test_only_the_firm_serving_the_account_suspends_it(people, acme, role):
    with pytest.raises(Forbidden):
        suspend(acme, actor=people[role])
    acme.refresh_from_db()
    assert acme.status == AccountStatus.ACTIVE


@pytest.mark.django_db
def test_suspending_in_the_admin_shuts_the_clients_out_too(client, people, acme):
    client.force_login(people["firm_admin"])
    form = {
        "name": acme.name,
        "slug": acme.slug,
        "status": "suspended",
        "team_assignments-TOTAL_FORMS": "0",
        "team_assignments-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:accounts_clientaccount_change", args=[acme.pk]), form)
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.status == AccountStatus.SUSPENDED
    assert not permissions.can_on_account(people["client_member"], Action.VIEW, acme)


@pytest.mark.django_db(transaction=True)
async def test_an_idle_clients_socket_loses_the_account_within_a_second(people, acme, monkeypatch):
    """No push reaches the socket (as for a change made in another process without Redis):
    the access-change log alone ends it."""
    monkeypatch.setattr(events, "publish_user_notice", lambda **kwargs: None)
    member = people["client_member"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)

    started = time.monotonic()
    await database_sync_to_async(suspend)(acme)
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert frame == {"type": "thread.removed", "thread": general.public_id}
    assert time.monotonic() - started < 1.5
    await ws.send_json_to({"type": "subscribe", "thread": general.public_id, "after": 0})
    refused = await ws.receive_json_from(timeout=TIMEOUT)
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    await ws.disconnect()
