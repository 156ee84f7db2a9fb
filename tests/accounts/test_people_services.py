"""The rules of ``accounts.services.people`` and the team lead, beyond what the API and page
matrices show: firm roles and the privileged wall, one lead per account."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid
from accounts.models import FirmRole, TeamAssignment
from accounts.permissions import Action
from accounts.services import client_accounts, people
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_firm_admin_who_alone_at_the_firm_sees_a_privileged_item_stays_admin():
    acme = factories.account("Acme")
    admin = factories.firm_admin(name="Ada Admin")
    other = factories.firm_admin(name="Otto Other")
    factories.matter(acme, privileged=True, grants=(admin,), title="Merger")
    with pytest.raises(Conflict) as refused:
        people.firm_role_change(actor=other, user=admin, firm_role=FirmRole.STAFF)
    assert refused.value.code == "last_firm_grantee"
    admin.refresh_from_db()
    assert admin.firm_role == FirmRole.ADMIN
    # On the team, they keep serving the account: the change goes through.
    client_accounts.team_assign(actor=None, account=acme, user=admin)
    people.firm_role_change(actor=other, user=admin, firm_role=FirmRole.STAFF)
    admin.refresh_from_db()
    assert admin.firm_role == FirmRole.STAFF
    assert permissions.can_on_account(admin, Action.VIEW, acme)


def test_an_admin_made_staff_loses_their_grants_where_they_no_longer_serve():
    acme = factories.account("Acme")
    admin = factories.firm_admin(name="Ada Admin")
    other = factories.firm_admin(name="Otto Other")
    sam = factories.staff(accounts=(acme,), name="Sam Staff")
    merger = factories.matter(acme, privileged=True, grants=(admin, sam), title="Merger")
    people.firm_role_change(actor=other, user=admin, firm_role=FirmRole.STAFF)
    admin.refresh_from_db()
    assert not permissions.can_on_account(admin, Action.VIEW, acme)
    assert admin not in permissions.privileged_grantees(merger)


@pytest.mark.parametrize("value", ["", "client", "ADMIN", None, 1])
def test_a_firm_role_is_admin_or_staff(value):
    admin = factories.firm_admin()
    sam = factories.staff()
    with pytest.raises(Invalid) as refused:
        people.firm_role_change(actor=admin, user=sam, firm_role=value)
    assert refused.value.fields == {"firm_role": "invalid"}


def test_client_users_have_no_firm_role_to_change():
    acme = factories.account("Acme")
    admin = factories.firm_admin()
    member = factories.client(acme)
    with pytest.raises(Invalid) as refused:
        people.firm_role_change(actor=admin, user=member, firm_role=FirmRole.STAFF)
    assert refused.value.code == "not_staff"


def test_only_firm_admins_change_firm_roles_and_switch_people_off():
    acme = factories.account("Acme")
    sam = factories.staff(accounts=(acme,))
    other = factories.staff(accounts=(acme,))
    with pytest.raises(Forbidden):
        people.firm_role_change(actor=sam, user=other, firm_role=FirmRole.ADMIN)
    with pytest.raises(Forbidden):
        people.person_deactivate(actor=sam, user=other)
    with pytest.raises(Forbidden):
        people.person_reactivate(actor=sam, user=other)


def test_switched_on_again_a_person_has_their_places_back():
    acme = factories.account("Acme")
    admin = factories.firm_admin()
    sam = factories.staff(accounts=(acme,))
    people.person_deactivate(actor=admin, user=sam)
    assert not permissions.can_on_account(sam, Action.VIEW, acme)
    people.person_reactivate(actor=admin, user=sam)
    sam.refresh_from_db()
    assert permissions.can_on_account(sam, Action.CHANGE, acme)


def test_the_database_holds_one_lead_per_account():
    acme = factories.account("Acme")
    first = factories.staff(accounts=(acme,))
    second = factories.staff(accounts=(acme,))
    client_accounts.team_assign(actor=None, account=acme, user=first, lead=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamAssignment.objects.filter(account=acme, user=second).update(lead=True)


def test_switched_off_staff_are_not_put_on_a_team():
    acme = factories.account("Acme")
    gone = factories.staff(active=False)
    with pytest.raises(Invalid) as refused:
        client_accounts.team_assign(actor=None, account=acme, user=gone)
    assert refused.value.code == "not_staff"


def test_the_same_role_again_changes_nothing():
    acme = factories.account("Acme")
    admin = factories.client(acme, role="admin")
    member = factories.client(acme)
    kept = people.client_person_set_role(actor=admin, account=acme, user=member, role="member")
    assert kept.role == "member"
