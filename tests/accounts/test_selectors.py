"""``accounts.selectors.access_fingerprints``: what the worker's access sweep compares
(``messaging.access``). Every fact that decides what someone sees changes the fingerprint,
also when changed in raw SQL; other changes do not; the cost does not grow with the users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from accounts.models import ClientAccount, Membership, TeamAssignment, User
from accounts.selectors import access_fingerprints
from messaging.models import Thread
from tests import factories

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def fingerprint(user: User) -> str:
    return access_fingerprints([user.pk], (Thread,))[user.pk].fingerprint


def walled(account: ClientAccount) -> Thread:
    from messaging import services

    return services.thread_create(actor=None, account=account, title="Walled", privileged=True)


def switched_off(people, acme) -> None:
    sql(f"UPDATE {table(User)} SET is_active = %s WHERE id = %s", [False, people["member"].pk])  # noqa: S608


def made_superuser(people, acme) -> None:
    sql(f"UPDATE {table(User)} SET is_superuser = %s WHERE id = %s", [True, people["member"].pk])  # noqa: S608


def new_password(people, acme) -> None:
    sql(f"UPDATE {table(User)} SET password = %s WHERE id = %s", ["!x", people["member"].pk])  # noqa: S608


def role_changed(people, acme) -> None:
    sql(
        f"UPDATE {table(Membership)} SET role = %s WHERE user_id = %s",  # noqa: S608
        ["admin", people["member"].pk],
    )


def membership_moved(people, acme) -> None:
    other = factories.account("Elsewhere")
    sql(
        f"UPDATE {table(Membership)} SET account_id = %s WHERE user_id = %s",  # noqa: S608
        [other.pk, people["member"].pk],
    )


def team_place_deleted(people, acme) -> None:
    sql(f"DELETE FROM {table(TeamAssignment)} WHERE user_id = %s", [people["staff"].pk])  # noqa: S608


def group_left(people, acme) -> None:
    sql(
        f"DELETE FROM {table(User.groups.through)} WHERE user_id = %s AND group_id = %s",  # noqa: S608
        [people["member"].pk, acme.members_group_id],
    )


def group_grant_deleted(people, acme) -> None:
    sql(
        f"DELETE FROM {table(get_group_obj_perms_model())} WHERE group_id = %s",  # noqa: S608
        [acme.members_group_id],
    )


def thread_grant_deleted(people, acme) -> None:
    sql(
        f"DELETE FROM {table(get_user_obj_perms_model())} WHERE user_id = %s",  # noqa: S608
        [people["member"].pk],
    )


CHANGES: dict[str, Callable] = {
    "switched_off": switched_off,
    "made_superuser": made_superuser,
    "new_password": new_password,
    "membership_role": role_changed,
    "membership_moved": membership_moved,
    "team_place_deleted": team_place_deleted,
    "group_left": group_left,
    "group_grant_deleted": group_grant_deleted,
    "thread_grant_deleted": thread_grant_deleted,
}


@pytest.fixture
def world(acme):
    from messaging import services

    people = {"member": factories.client(acme), "staff": factories.staff(accounts=(acme,))}
    services.thread_grant(actor=None, thread=walled(acme), user=people["member"])
    return people


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_fact_of_access_changes_the_fingerprint(world, acme, change):
    before = {role: fingerprint(person) for role, person in world.items()}
    CHANGES[change](world, acme)
    after = {role: fingerprint(person) for role, person in world.items()}
    changed = {role for role in world if before[role] != after[role]}
    assert changed == {"staff" if change == "team_place_deleted" else "member"}


def test_other_changes_keep_the_fingerprint(world, acme):
    member = world["member"]
    before = fingerprint(member)
    sql(
        f"UPDATE {table(User)} SET name = %s, last_login = %s WHERE id = %s",  # noqa: S608
        ["Someone Else", timezone.now(), member.pk],
    )
    factories.client(acme)  # someone else joins
    assert fingerprint(member) == before


def test_a_missing_user_is_left_out(world):
    assert access_fingerprints([world["member"].pk, 10**9], (Thread,)).keys() == {
        world["member"].pk
    }


def test_the_number_of_queries_does_not_grow_with_the_users(acme, globex):
    people = [factories.client(acme)]
    access_fingerprints([people[0].pk], (Thread,))  # content types cached
    with CaptureQueriesContext(connection) as one:
        access_fingerprints([people[0].pk], (Thread,))
    people += [factories.client(acme if n % 2 else globex) for n in range(30)]
    people += [factories.staff(accounts=(acme, globex)) for _ in range(5)]
    with CaptureQueriesContext(connection) as many:
        answer = access_fingerprints([p.pk for p in people], (Thread,))
    assert len(answer) == len(people)
    assert len(many) == len(one) == 6
