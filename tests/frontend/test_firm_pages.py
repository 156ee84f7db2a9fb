"""The firm's operations as pages: the Clients page, an account's settings and people, the
firm's People page. Who may see and do what, role by role over HTTP; a confirmation before
what cannot be undone in a click; feedback after every post; query counts that do not grow
with the rows."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import (
    AccountStatus,
    ClientAccount,
    FirmRole,
    Invitation,
    Membership,
    TeamAssignment,
    User,
)
from accounts.services import client_accounts
from accounts.services import invitations as invitation_services
from tests import factories

ROLES = (*factories.ROLES, "revoked", "deactivated", "anonymous")
SIGNED_OUT = {"anonymous": 302, "deactivated": 302}
OUTSIDE = {"staff_off_team": 404, "other_client": 404, "revoked": 404}


@pytest.fixture
def everyone(people, acme):
    revoked = factories.client(acme, name="Rory Revoked")
    client_accounts.membership_remove(actor=None, account=acme, user=revoked)
    deactivated = factories.client(acme, name="Dora Deactivated")
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    deactivated.refresh_from_db()
    return {**people, "revoked": revoked, "deactivated": deactivated}


def sign_in(client, everyone, role):
    if role != "anonymous":
        client.force_login(everyone[role])
    return client


def expected(table: dict, role: str) -> int:
    return {**SIGNED_OUT, **OUTSIDE, **table}[role]


def snapshot() -> tuple:
    return (
        list(ClientAccount.objects.order_by("pk").values()),
        list(Membership.objects.order_by("pk").values()),
        list(TeamAssignment.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("pk", "is_active", "firm_role", "email")),
        list(Invitation.objects.order_by("pk").values("pk", "revoked_at")),
        list(Group.objects.order_by("pk").values_list("pk", "user")),
    )


def flashes(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in messages.get_messages(response.wsgi_request)]


CLIENTS = reverse("frontend:clients")
FIRM_PEOPLE = reverse("frontend:firm_people")


def settings_url(account) -> str:
    return reverse("frontend:account_settings", args=[account.public_id])


# --- who sees which page ----------------------------------------------------------------------


FIRM_ADMIN_ONLY = {**dict.fromkeys(ROLES, 404), **SIGNED_OUT, "firm_admin": 200}


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_the_clients_page(client, everyone, role):
    response = sign_in(client, everyone, role).get(CLIENTS)
    assert response.status_code == expected(FIRM_ADMIN_ONLY, role)


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_the_firm_people_page(client, everyone, role):
    response = sign_in(client, everyone, role).get(FIRM_PEOPLE)
    assert response.status_code == expected(FIRM_ADMIN_ONLY, role)


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_an_accounts_settings(client, everyone, acme, role):
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 200, "client_member": 404}
    response = sign_in(client, everyone, role).get(settings_url(acme))
    assert response.status_code == expected(table, role)
    if response.status_code == 200:
        body = response.content.decode()
        firm_side = role in ("firm_admin", "staff_on_team")
        assert ('action="' + reverse("frontend:account_rename", args=[acme.public_id])) in body or (
            not firm_side
        )
        assert ("Add to the team" in body) == (role == "firm_admin")
        assert ('name="role"' in body) == firm_side
        assert "Morgan Member" in body and "Sam Staff" in body


def test_the_firm_admin_sees_the_new_pages_in_the_menu(client, everyone):
    body = sign_in(client, everyone, "firm_admin").get(reverse("frontend:home")).content.decode()
    assert f'href="{CLIENTS}"' in body and f'href="{FIRM_PEOPLE}"' in body
    body = sign_in(client, everyone, "staff_on_team").get(reverse("frontend:home")).content.decode()
    assert f'href="{CLIENTS}"' not in body and f'href="{FIRM_PEOPLE}"' not in body


# --- what each may do -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_a_client_account(client, everyone, role):
    before = ClientAccount.objects.count()
    response = sign_in(client, everyone, role).post(CLIENTS, {"name": "Initech"})
    opened = ClientAccount.objects.filter(name="Initech").first()
    if role == "firm_admin":
        assert response.status_code == 302
        assert response["Location"] == settings_url(opened)
        assert flashes(response) == [(messages.SUCCESS, "Initech is open: put its team together.")]
    else:
        assert response.status_code == expected(FIRM_ADMIN_ONLY, role)
        assert ClientAccount.objects.count() == before


@pytest.mark.parametrize("role", ROLES)
def test_who_renames_an_account(client, everyone, acme, role):
    table = {"firm_admin": 302, "staff_on_team": 302, "client_admin": 302, "client_member": 404}
    path = reverse("frontend:account_rename", args=[acme.public_id])
    response = sign_in(client, everyone, role).post(path, {"name": "Acme Holdings"})
    assert response.status_code == expected(table, role)
    acme.refresh_from_db()
    assert (acme.name == "Acme Holdings") == (role in ("firm_admin", "staff_on_team"))
    if role == "client_admin":
        assert flashes(response)[0][0] == messages.ERROR


@pytest.mark.parametrize("role", ROLES)
def test_suspending_asks_first_and_only_the_firm_side_may(client, everyone, acme, role):
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 302, "client_member": 404}
    path = reverse("frontend:account_status", args=[acme.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"status": "suspended"})
    assert asked.status_code == expected(table, role)
    acme.refresh_from_db()
    assert acme.status == AccountStatus.ACTIVE
    if asked.status_code == 200:
        page = asked.content.decode()
        assert "Suspend Acme?" in page
        assert '<input type="hidden" name="status" value="suspended">' in page
        assert '<input type="hidden" name="confirm" value="on">' in page
        done = client.post(path, {"status": "suspended", "confirm": "on"})
        assert done.status_code == 302
        acme.refresh_from_db()
        assert acme.status == AccountStatus.SUSPENDED
        assert flashes(done) == [(messages.SUCCESS, "Acme is now suspended.")]
        done = client.post(path, {"status": "active", "confirm": "on"})
        acme.refresh_from_db()
        assert acme.status == AccountStatus.ACTIVE
    else:
        client.post(path, {"status": "suspended", "confirm": "on"})
        acme.refresh_from_db()
        assert acme.status == AccountStatus.ACTIVE


@pytest.mark.parametrize("role", ROLES)
def test_who_puts_someone_on_the_team_and_makes_them_lead(client, everyone, acme, role):
    newcomer = factories.staff(name="Nia New")
    table = {"firm_admin": 302, "staff_on_team": 302, "client_admin": 302, "client_member": 404}
    path = reverse("frontend:account_team_add", args=[acme.public_id])
    response = sign_in(client, everyone, role).post(
        path, {"user": newcomer.public_id, "lead": "on"}
    )
    assert response.status_code == expected(table, role)
    placed = TeamAssignment.objects.filter(account=acme, user=newcomer).first()
    if role == "firm_admin":
        assert placed is not None and placed.lead
        assert flashes(response) == [(messages.SUCCESS, "Nia New is on the team.")]
    else:
        assert placed is None


@pytest.mark.parametrize("role", ROLES)
def test_who_takes_someone_off_the_team(client, everyone, acme, role):
    leaving = factories.staff(accounts=(acme,), name="Lee Leaving")
    table = {"firm_admin": 200, "staff_on_team": 302, "client_admin": 302, "client_member": 404}
    path = reverse("frontend:account_team_change", args=[acme.public_id, leaving.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "remove"})
    assert asked.status_code == expected(table, role)
    assert TeamAssignment.objects.filter(account=acme, user=leaving).exists()
    client.post(path, {"action": "remove", "confirm": "on"})
    still = TeamAssignment.objects.filter(account=acme, user=leaving).exists()
    assert still == (role != "firm_admin")


def test_the_lead_moves_on_the_settings_page(client, everyone, acme):
    sam = everyone["staff_on_team"]
    other = factories.staff(accounts=(acme,), name="Nia New")
    client.force_login(everyone["firm_admin"])
    for person in (sam, other):
        path = reverse("frontend:account_team_change", args=[acme.public_id, person.public_id])
        assert client.post(path, {"action": "lead"}).status_code == 302
    leads = TeamAssignment.objects.filter(account=acme, lead=True)
    assert [a.user for a in leads] == [other]
    # The client sees their account lead.
    client.force_login(everyone["client_member"])
    page = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert "Your account lead" in page


@pytest.mark.parametrize("role", ROLES)
def test_who_changes_a_client_persons_role(client, everyone, acme, role):
    member = everyone["client_member"]
    table = {"firm_admin": 302, "staff_on_team": 302, "client_admin": 302, "client_member": 404}
    path = reverse("frontend:account_person_change", args=[acme.public_id, member.public_id])
    response = sign_in(client, everyone, role).post(path, {"action": "role", "role": "admin"})
    assert response.status_code == expected(table, role)
    now = Membership.objects.get(account=acme, user=member).role
    assert now == ("admin" if role in ("firm_admin", "staff_on_team") else "member")
    if role == "client_admin":
        assert flashes(response) == [
            (messages.ERROR, "Only the firm makes or changes client admins.")
        ]


@pytest.mark.parametrize("role", ROLES)
def test_who_removes_a_client_member_after_confirming(client, everyone, acme, role):
    member = everyone["client_member"]
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 200, "client_member": 404}
    path = reverse("frontend:account_person_change", args=[acme.public_id, member.public_id])
    sign_in(client, everyone, role)
    before = snapshot()
    asked = client.post(path, {"action": "remove"})
    assert asked.status_code == expected(table, role)
    assert snapshot() == before
    done = client.post(path, {"action": "remove", "confirm": "on"})
    removed = not Membership.objects.filter(account=acme, user=member).exists()
    assert removed == (table.get(role) == 200)
    if removed:
        member.refresh_from_db()
        assert not member.is_active  # Acme was their only account
        assert flashes(done)[-1] == (
            messages.SUCCESS,
            "Morgan Member is no longer in Acme. It was their only account: they are switched off.",
        )


@pytest.mark.parametrize("role", ROLES)
def test_who_adds_someone_to_the_firm(client, everyone, role, django_capture_on_commit_callbacks):
    data = {"name": "Nia New", "email": "nia@firm.test", "firm_role": "staff"}
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(client, everyone, role).post(FIRM_PEOPLE, data)
    added = User.objects.filter(email="nia@firm.test").first()
    if role == "firm_admin":
        assert response.status_code == 302
        assert added.firm_role == FirmRole.STAFF and not added.has_usable_password()
        assert [m.to for m in mail.outbox] == [["nia@firm.test"]]
    else:
        assert response.status_code == expected(FIRM_ADMIN_ONLY, role)
        assert added is None


@pytest.mark.parametrize("role", ROLES)
def test_who_changes_a_firm_role(client, everyone, role):
    sam = everyone["staff_on_team"]
    path = reverse("frontend:firm_person", args=[sam.public_id])
    response = sign_in(client, everyone, role).post(path, {"action": "role", "firm_role": "admin"})
    sam.refresh_from_db()
    if role == "firm_admin":
        assert response.status_code == 302
        assert sam.firm_role == FirmRole.ADMIN
        assert flashes(response) == [(messages.SUCCESS, "Sam Staff is now firm admin.")]
    else:
        assert response.status_code == expected(FIRM_ADMIN_ONLY, role)
        assert sam.firm_role == FirmRole.STAFF


@pytest.mark.parametrize("role", ROLES)
def test_who_switches_staff_off_and_on(client, everyone, role):
    sam = everyone["staff_on_team"]
    path = reverse("frontend:firm_person", args=[sam.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "deactivate"})
    assert asked.status_code == expected({**FIRM_ADMIN_ONLY}, role)
    sam.refresh_from_db()
    assert sam.is_active
    client.post(path, {"action": "deactivate", "confirm": "on"})
    sam.refresh_from_db()
    assert sam.is_active == (role != "firm_admin")
    if role == "firm_admin":
        assert client.post(path, {"action": "reactivate"}).status_code == 302
        sam.refresh_from_db()
        assert sam.is_active


def test_the_last_firm_admin_stays_one_and_nobody_switches_themself_off(client, everyone):
    admin = everyone["firm_admin"]
    client.force_login(admin)
    path = reverse("frontend:firm_person", args=[admin.public_id])
    response = client.post(path, {"action": "role", "firm_role": "staff"})
    assert flashes(response) == [
        (messages.ERROR, "The firm needs at least one firm admin: make someone else one first.")
    ]
    response = client.post(path, {"action": "deactivate", "confirm": "on"})
    assert flashes(response)[-1:] == [
        (messages.ERROR, "You cannot switch yourself off; ask another firm admin.")
    ]
    admin.refresh_from_db()
    assert admin.is_active and admin.firm_role == FirmRole.ADMIN


# --- bad input: an error to read, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("route", "args", "data"),
    [
        ("frontend:clients", lambda w: [], {"name": ""}),
        ("frontend:clients", lambda w: [], {"name": "x" * 161}),
        ("frontend:account_rename", lambda w: [w["acme"]], {"name": ""}),
        ("frontend:account_status", lambda w: [w["acme"]], {"status": "closed", "confirm": "on"}),
        ("frontend:account_team_add", lambda w: [w["acme"]], {"user": "usr_nobody"}),
        (
            "frontend:account_team_add",
            lambda w: [w["acme"]],
            lambda w: {"user": w["client_member"]},
        ),
        (
            "frontend:account_team_change",
            lambda w: [w["acme"], w["staff_off_team"]],
            {"action": "lead"},
        ),
        (
            "frontend:account_team_change",
            lambda w: [w["acme"], w["staff_on_team"]],
            {"action": "boss"},
        ),
        ("frontend:account_team_change", lambda w: [w["acme"], "usr_nobody"], {"action": "lead"}),
        (
            "frontend:account_person_change",
            lambda w: [w["acme"], w["client_member"]],
            {"action": "role", "role": "owner"},
        ),
        (
            "frontend:account_person_change",
            lambda w: [w["acme"], w["other_client"]],
            {"action": "remove", "confirm": "on"},
        ),
        (
            "frontend:account_person_change",
            lambda w: [w["acme"], "usr_nobody"],
            {"action": "remove", "confirm": "on"},
        ),
        ("frontend:firm_people", lambda w: [], {"name": "Nia", "email": "not-an-address"}),
        (
            "frontend:firm_people",
            lambda w: [],
            {"name": "Nia", "email": "nia@firm.test", "firm_role": "client"},
        ),
        (
            "frontend:firm_people",
            lambda w: [],
            lambda w: {"name": "Sam", "email": w["staff_on_team"].email, "firm_role": "staff"},
        ),
        (
            "frontend:firm_person",
            lambda w: [w["client_member"]],
            {"action": "role", "firm_role": "admin"},
        ),
        (
            "frontend:firm_person",
            lambda w: [w["staff_on_team"]],
            {"action": "role", "firm_role": "boss"},
        ),
        ("frontend:firm_person", lambda w: [w["staff_on_team"]], {"action": "role"}),
    ],
)
def test_bad_input_shows_an_error_and_writes_nothing(client, everyone, acme, route, args, data):
    world = {**everyone, "acme": acme}
    client.force_login(everyone["firm_admin"])
    resolved = [a if isinstance(a, str) else a.public_id for a in args(world)]
    data = data(world) if callable(data) else data
    data = {k: (v.public_id if isinstance(v, User) else v) for k, v in data.items()}
    before = snapshot()
    response = client.post(reverse(route, args=resolved), data)
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert response.context["form"].errors
    else:
        assert flashes(response)[0][0] == messages.ERROR
    assert snapshot() == before


# --- queries that do not grow with the rows ---------------------------------------------------


def _queries(client, path) -> int:
    client.get(path)  # the first read of the firm row and of the content types is cached
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_clients_page_costs_the_same_queries_as_it_grows(client, everyone):
    client.force_login(everyone["firm_admin"])
    few = _queries(client, CLIENTS)
    for n in range(8):
        account = factories.account(f"Client {n}")
        lead = factories.staff(accounts=(account,))
        client_accounts.team_assign(actor=None, account=account, user=lead, lead=True)
        factories.client(account)
    assert _queries(client, CLIENTS) == few


def test_the_firm_people_page_costs_the_same_queries_as_it_grows(client, everyone, acme):
    client.force_login(everyone["firm_admin"])
    few = _queries(client, FIRM_PEOPLE)
    for _ in range(8):
        factories.staff(accounts=(acme,))
        factories.firm_admin()
    assert _queries(client, FIRM_PEOPLE) == few


@pytest.mark.parametrize("role", ["firm_admin", "client_admin"])
def test_the_settings_page_costs_the_same_queries_as_it_grows(client, everyone, acme, role):
    client.force_login(everyone[role])
    few = _queries(client, settings_url(acme))
    for n in range(8):
        factories.client(acme)
        factories.staff(accounts=(acme,))
        invitation_services.invitation_create(
            actor=everyone["firm_admin"], account=acme, email=f"p{n}@example.test"
        )
    assert _queries(client, settings_url(acme)) == few


def test_the_clients_page_comes_in_pages(client, everyone):
    for n in range(60):
        factories.account(f"Zed {n:02}")
    client.force_login(everyone["firm_admin"])
    first = client.get(CLIENTS)
    assert len(first.context["page"].rows) == 50
    second = client.get(CLIENTS, {"cursor": first.context["page"].next})
    names = [r.account.name for r in first.context["page"].rows + second.context["page"].rows]
    assert names == sorted(ClientAccount.objects.values_list("name", flat=True))
    stale = client.get(CLIENTS, {"cursor": "acc_nothere"})
    assert stale.status_code == 200
    assert flashes(stale)[0][0] == messages.ERROR
