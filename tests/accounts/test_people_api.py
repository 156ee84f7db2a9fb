"""The firm's operations over ``/api/v1/accounts``: who may open, rename, suspend and archive
client accounts, manage their team and their client people, over HTTP, role by role; bad
input refused precisely with nothing written; the people list at a constant query cost."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import (
    AccountStatus,
    ClientAccount,
    ClientRole,
    Invitation,
    Membership,
    TeamAssignment,
    User,
)
from accounts.services import client_accounts
from accounts.services import invitations as invitation_services
from tests import factories

ROLES = (*factories.ROLES, "revoked", "deactivated", "anonymous")


@pytest.fixture
def everyone(people, acme):
    """The ``people`` fixture, plus a client taken out of Acme ("revoked") and one of Acme's
    clients switched off ("deactivated")."""
    revoked = factories.client(acme, name="Rory Revoked")
    client_accounts.membership_remove(actor=None, account=acme, user=revoked)
    deactivated = factories.client(acme, name="Dora Deactivated")
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    deactivated.refresh_from_db()
    return {**people, "revoked": revoked, "deactivated": deactivated}


def sign_in(client, everyone, role: str):
    if role != "anonymous":
        client.force_login(everyone[role])
    return client


def send(client, method: str, path: str, data=None):
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(path, body, content_type="application/json")


def snapshot() -> tuple:
    return (
        list(ClientAccount.objects.order_by("pk").values()),
        list(Membership.objects.order_by("pk").values()),
        list(TeamAssignment.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("pk", "is_active", "firm_role")),
        list(Invitation.objects.order_by("pk").values()),
        list(Group.objects.order_by("pk").values_list("pk", "user")),
    )


def error_of(response) -> dict:
    return response.json()["error"]


ACCOUNTS = reverse("api:accounts")


def account_path(account) -> str:
    return reverse("api:account", args=[account.public_id])


def people_path(account) -> str:
    return reverse("api:account_people", args=[account.public_id])


def person_path(account, user) -> str:
    return reverse("api:account_person", args=[account.public_id, user.public_id])


def team_path(account) -> str:
    return reverse("api:account_team", args=[account.public_id])


def team_member_path(account, user) -> str:
    return reverse("api:account_team_member", args=[account.public_id, user.public_id])


# --- the permission matrix --------------------------------------------------------------------

SIGNED_OUT = {"anonymous": 401, "deactivated": 401}
OUTSIDE = {"staff_off_team": 404, "other_client": 404, "revoked": 404}


def expected(table: dict, role: str) -> int:
    return {**SIGNED_OUT, **OUTSIDE, **table}[role]


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_an_account(client, everyone, role):
    table = dict.fromkeys(ROLES, 403) | SIGNED_OUT | {"firm_admin": 201}
    before = ClientAccount.objects.count()
    response = send(sign_in(client, everyone, role), "post", ACCOUNTS, {"name": "Initech"})
    assert response.status_code == table[role], response.content
    if response.status_code == 201:
        body = response.json()
        assert body["id"].startswith("acc_") and body["name"] == "Initech"
        assert set(body) == {"id", "name", "slug", "status", "created_at"}
        assert body["status"] == "active"
        assert ClientAccount.objects.count() == before + 1
    else:
        assert ClientAccount.objects.count() == before


@pytest.mark.parametrize("role", ROLES)
def test_who_renames_an_account(client, everyone, acme, role):
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 403, "client_member": 403}
    response = send(sign_in(client, everyone, role), "patch", account_path(acme), {"name": "Acme"})
    assert response.status_code == expected(table, role), response.content
    response = send(client, "patch", account_path(acme), {"name": "Acme Holdings"})
    acme.refresh_from_db()
    assert (acme.name == "Acme Holdings") == (expected(table, role) == 200)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status", ["suspended", "archived"])
def test_who_suspends_and_archives_an_account(client, everyone, acme, role, status):
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 403, "client_member": 403}
    response = send(
        sign_in(client, everyone, role), "patch", account_path(acme), {"status": status}
    )
    assert response.status_code == expected(table, role), response.content
    acme.refresh_from_db()
    assert acme.status == (status if response.status_code == 200 else "active")


@pytest.mark.parametrize("role", ROLES)
def test_who_lists_an_accounts_people(client, everyone, acme, role):
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 200, "client_member": 200}
    invitation_services.invitation_create(
        actor=everyone["staff_on_team"], account=acme, email="nina@example.test"
    )
    response = sign_in(client, everyone, role).get(people_path(acme))
    assert response.status_code == expected(table, role), response.content
    if response.status_code == 200:
        body = response.json()
        assert body["account"] == acme.public_id
        assert [t["user"]["name"] for t in body["team"]] == ["Sam Staff"]
        assert {p["user"]["name"]: p["role"] for p in body["people"]} == {
            "Alex Acme": "admin",
            "Morgan Member": "member",
        }
        invited = [i["email"] for i in body["invitations"]]
        # The pending invitations, for whoever may invite.
        assert invited == ([] if role == "client_member" else ["nina@example.test"])


@pytest.mark.parametrize("role", ROLES)
def test_who_puts_staff_on_the_team(client, everyone, acme, role):
    newcomer = factories.staff(name="Nia New")
    table = {"firm_admin": 201, "staff_on_team": 403, "client_admin": 403, "client_member": 403}
    response = send(
        sign_in(client, everyone, role), "post", team_path(acme), {"user": newcomer.public_id}
    )
    assert response.status_code == expected(table, role), response.content
    on_team = TeamAssignment.objects.filter(account=acme, user=newcomer).exists()
    assert on_team == (response.status_code == 201)


@pytest.mark.parametrize("role", ROLES)
def test_who_takes_staff_off_the_team(client, everyone, acme, role):
    leaving = factories.staff(accounts=(acme,), name="Lee Leaving")
    table = {"firm_admin": 204, "staff_on_team": 403, "client_admin": 403, "client_member": 403}
    response = sign_in(client, everyone, role).delete(team_member_path(acme, leaving))
    assert response.status_code == expected(table, role), response.content
    on_team = TeamAssignment.objects.filter(account=acme, user=leaving).exists()
    assert on_team == (response.status_code != 204)


@pytest.mark.parametrize("role", ROLES)
def test_who_makes_a_client_member_an_admin(client, everyone, acme, role):
    member = everyone["client_member"]
    # Client admins invite members only: only the firm makes client admins.
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 403, "client_member": 403}
    response = send(
        sign_in(client, everyone, role), "patch", person_path(acme, member), {"role": "admin"}
    )
    assert response.status_code == expected(table, role), response.content
    role_now = Membership.objects.get(account=acme, user=member).role
    assert role_now == ("admin" if response.status_code == 200 else "member")
    if role == "client_admin":
        assert error_of(response)["code"] == "firm_only"


@pytest.mark.parametrize("role", ROLES)
def test_who_takes_a_client_member_out(client, everyone, acme, role):
    member = everyone["client_member"]
    table = {"firm_admin": 200, "staff_on_team": 200, "client_admin": 200, "client_member": 403}
    response = sign_in(client, everyone, role).delete(person_path(acme, member))
    assert response.status_code == expected(table, role), response.content
    still_in = Membership.objects.filter(account=acme, user=member).exists()
    assert still_in == (response.status_code != 200)


@pytest.mark.parametrize("target", ["client_admin", "client_member"])
def test_the_firm_changes_and_removes_client_admins_client_admins_do_not(
    client, everyone, acme, target
):
    other_admin = factories.client(acme, role="admin", name="Ada Second")
    client.force_login(everyone["client_admin"])
    response = send(client, "patch", person_path(acme, other_admin), {"role": "member"})
    assert (response.status_code, error_of(response)["code"]) == (403, "firm_only")
    response = client.delete(person_path(acme, other_admin))
    assert (response.status_code, error_of(response)["code"]) == (403, "firm_only")
    assert Membership.objects.get(account=acme, user=other_admin).role == ClientRole.ADMIN
    client.force_login(everyone["staff_on_team"])
    response = send(client, "patch", person_path(acme, other_admin), {"role": "member"})
    assert response.json() == {
        "user": {
            "id": other_admin.public_id,
            "name": "Ada Second",
            "email": other_admin.email,
            "initials": "AS",
            "avatar": None,
        },
        "role": "member",
    }


# --- what the answers and the writes are ------------------------------------------------------


def test_the_lead_is_one_per_account_and_moves(client, everyone, acme):
    client.force_login(everyone["firm_admin"])
    sam = everyone["staff_on_team"]
    response = send(client, "post", team_path(acme), {"user": sam.public_id, "lead": True})
    assert response.status_code == 200  # already on the team: their place changes
    assert response.json()["lead"] is True
    other = factories.staff(name="Nia New")
    response = send(client, "post", team_path(acme), {"user": other.public_id, "lead": True})
    assert response.status_code == 201
    leads = list(
        TeamAssignment.objects.filter(account=acme, lead=True).values_list("user", flat=True)
    )
    assert leads == [other.pk]
    team = client.get(people_path(acme)).json()["team"]
    assert [(t["user"]["name"], t["lead"]) for t in team] == [
        ("Nia New", True),
        ("Sam Staff", False),
    ]
    response = send(client, "post", team_path(acme), {"user": other.public_id, "lead": False})
    assert response.json()["lead"] is False
    assert not TeamAssignment.objects.filter(account=acme, lead=True).exists()


def test_taking_the_last_account_of_a_client_switches_them_off(client, everyone, acme, globex):
    member = everyone["client_member"]
    both = factories.client(acme, name="Bo Both")
    client_accounts.membership_add(actor=None, account=globex, user=both)
    client.force_login(everyone["firm_admin"])
    response = client.delete(person_path(acme, both))
    assert response.json() == {"user": both.public_id, "deactivated": False}
    both.refresh_from_db()
    assert both.is_active
    response = client.delete(person_path(acme, member))
    assert response.json() == {"user": member.public_id, "deactivated": True}
    member.refresh_from_db()
    assert not member.is_active


def test_removing_a_person_withdraws_their_pending_invitation(client, everyone, acme):
    member = everyone["client_member"]
    Invitation.objects.create(
        account=acme,
        email=member.email,
        role="admin",
        token_digest="0" * 64,
        expires_at="2099-01-01T00:00:00Z",
    )
    client.force_login(everyone["staff_on_team"])
    assert client.delete(person_path(acme, member)).status_code == 200
    assert Invitation.objects.get(email=member.email).state == "revoked"


# --- bad input: a precise error, nothing written ----------------------------------------------


BAD = [
    ("post", lambda w: ACCOUNTS, {}, 400, "invalid", {"name": "required"}),
    ("post", lambda w: ACCOUNTS, {"name": "   "}, 400, "invalid", {"name": "required"}),
    ("post", lambda w: ACCOUNTS, {"name": 7}, 400, "invalid", {"name": "invalid"}),
    ("post", lambda w: ACCOUNTS, {"name": "x" * 161}, 400, "invalid", {"name": "too_long"}),
    (
        "post",
        lambda w: ACCOUNTS,
        {"name": "A", "slug": "a"},
        400,
        "unknown_field",
        {"slug": "unknown"},
    ),
    ("post", lambda w: ACCOUNTS, ["Initech"], 400, "bad_json", None),
    ("patch", lambda w: account_path(w.acme), {}, 400, "nothing_to_change", None),
    (
        "patch",
        lambda w: account_path(w.acme),
        {"status": "closed"},
        400,
        "invalid",
        {"status": "invalid"},
    ),
    (
        "patch",
        lambda w: account_path(w.acme),
        {"status": ["active"]},
        400,
        "invalid",
        {"status": "invalid"},
    ),
    # All or nothing: the name is not changed when the status is refused.
    (
        "patch",
        lambda w: account_path(w.acme),
        {"name": "Acme Two", "status": "gone"},
        400,
        "invalid",
        {"status": "invalid"},
    ),
    ("patch", lambda w: account_path(w.acme), {"name": ""}, 400, "invalid", {"name": "required"}),
    (
        "patch",
        lambda w: reverse("api:account", args=["acc_nobody"]),
        {"name": "X"},
        404,
        "not_found",
        None,
    ),
    (
        "post",
        lambda w: team_path(w.acme),
        {"user": "usr_nobody"},
        400,
        "unknown_user",
        {"user": "not_found"},
    ),
    ("post", lambda w: team_path(w.acme), {}, 400, "unknown_user", {"user": "not_found"}),
    ("post", lambda w: team_path(w.acme), {"user": 12}, 400, "unknown_user", {"user": "not_found"}),
    (
        "post",
        lambda w: team_path(w.acme),
        lambda w: {"user": w.people["client_member"].public_id},
        400,
        "not_staff",
        None,
    ),
    (
        "post",
        lambda w: team_path(w.acme),
        lambda w: {"user": w.people["staff_off_team"].public_id, "lead": "yes"},
        400,
        "invalid",
        {"lead": "invalid"},
    ),
    (
        "delete",
        lambda w: team_member_path(w.acme, w.people["client_member"]),
        None,
        404,
        "not_found",
        None,
    ),
    (
        "delete",
        lambda w: reverse("api:account_team_member", args=[w.acme.public_id, "usr_nobody"]),
        None,
        404,
        "not_found",
        None,
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["client_member"]),
        {"role": "owner"},
        400,
        "invalid",
        {"role": "invalid"},
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["client_member"]),
        {"role": None},
        400,
        "invalid",
        {"role": "invalid"},
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["client_member"]),
        {},
        400,
        "invalid",
        {"role": "required"},
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["client_member"]),
        {"role": "admin", "name": "X"},
        400,
        "unknown_field",
        {"name": "unknown"},
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["other_client"]),
        {"role": "admin"},
        404,
        "not_found",
        None,
    ),
    (
        "patch",
        lambda w: person_path(w.acme, w.people["staff_on_team"]),
        {"role": "admin"},
        404,
        "not_found",
        None,
    ),
    (
        "delete",
        lambda w: person_path(w.acme, w.people["other_client"]),
        None,
        404,
        "not_found",
        None,
    ),
    (
        "delete",
        lambda w: reverse("api:account_person", args=[w.acme.public_id, "usr_nobody"]),
        None,
        404,
        "not_found",
        None,
    ),
]


class World:
    def __init__(self, people, acme):
        self.people, self.acme = people, acme


@pytest.mark.parametrize(("method", "path", "data", "status", "code", "fields"), BAD)
def test_bad_input_is_refused_precisely_and_writes_nothing(
    client, people, acme, method, path, data, status, code, fields
):
    client.force_login(people["firm_admin"])
    world = World(people, acme)
    before = snapshot()
    data = data(world) if callable(data) else data
    if data is None:
        response = getattr(client, method)(path(world))
    else:
        response = send(client, method, path(world), data)
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    if fields is not None:
        assert error["fields"] == fields
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("name=Initech", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        ('"Initech"', "application/json"),
        ("\xff", "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(client, people, body, content_type):
    client.force_login(people["firm_admin"])
    before = snapshot()
    response = client.post(ACCOUNTS, body, content_type=content_type)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"
    assert snapshot() == before


def test_the_last_firm_grantee_is_not_taken_off_the_team(client, people, acme):
    sam = people["staff_on_team"]
    factories.matter(acme, privileged=True, grants=(sam,), title="Merger")
    client.force_login(people["firm_admin"])
    before = snapshot()
    response = client.delete(team_member_path(acme, sam))
    assert (response.status_code, error_of(response)["code"]) == (409, "last_firm_grantee")
    assert snapshot() == before


def test_wrong_methods_are_refused(client, people, acme):
    client.force_login(people["firm_admin"])
    assert client.get(ACCOUNTS).status_code == 405
    assert client.get(account_path(acme)).status_code == 405
    assert client.post(people_path(acme)).status_code == 405
    response = client.get(person_path(acme, people["client_member"]))
    assert (response.status_code, response["Allow"]) == (405, "DELETE, PATCH")


# --- the people list: pages, and queries that do not grow --------------------------------------


def test_the_people_list_comes_in_pages(client, people, acme):
    for n in range(5):
        factories.client(acme, name=f"Zed {n}")
    client.force_login(people["staff_on_team"])
    seen, cursor = [], ""
    while True:
        body = client.get(people_path(acme), {"limit": 3, "cursor": cursor}).json()
        seen += [p["user"]["name"] for p in body["people"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == ["Alex Acme", "Morgan Member", *[f"Zed {n}" for n in range(5)]]
    assert error_of(client.get(people_path(acme), {"limit": 0}))["code"] == "bad_limit"
    assert error_of(client.get(people_path(acme), {"cursor": "usr_x"}))["code"] == "bad_cursor"


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_people_list_costs_the_same_queries_as_it_grows(client, people, acme):
    client.force_login(people["staff_on_team"])
    few = _queries(client, people_path(acme))
    for n in range(10):
        factories.client(acme, name=f"Person {n}")
        factories.staff(accounts=(acme,), name=f"Staff {n}")
        invitation_services.invitation_create(
            actor=people["staff_on_team"], account=acme, email=f"p{n}@example.test"
        )
    assert _queries(client, people_path(acme)) == few


def test_an_account_in_the_answer_looks_like_the_one_me_lists(client, people, acme):
    client.force_login(people["firm_admin"])
    response = send(
        client, "patch", account_path(acme), {"name": "Acme Holdings", "status": "archived"}
    )
    body = response.json()
    assert body["id"] == acme.public_id
    assert (body["name"], body["status"]) == ("Acme Holdings", AccountStatus.ARCHIVED)
