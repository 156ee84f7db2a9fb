"""The access-change log (``accounts.access_log``): every write that reduces someone's access,
through the services or around them, notes it in its transaction and announces it once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts import access_log, permissions, signals
from accounts.models import AccessChange, FirmRole
from accounts.services import client_accounts, users
from messaging import services as messaging_services
from tests import factories


@pytest.fixture
def announced():
    """The ``access_reduced`` announcements, in order."""
    seen: list[frozenset[int]] = []

    def record(sender, user_ids, **kwargs):
        seen.append(user_ids)

    signals.access_reduced.connect(record)
    yield seen
    signals.access_reduced.disconnect(record)


def noted() -> list[int]:
    return list(AccessChange.objects.values_list("user_id", flat=True))


def signed_in_session(user) -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def switched_off(people, acme):
    member = people["client_member"]
    member.is_active = False
    member.save()
    return member


def new_password(people, acme):
    member = people["client_member"]
    member.set_password("another-passphrase-9")
    member.save(update_fields=["password"])
    return member


def demoted(people, acme):
    admin = people["firm_admin"]
    admin.firm_role = FirmRole.STAFF
    admin.save()
    return admin


def left_a_group(people, acme):
    member = people["client_member"]
    member.groups.remove(acme.members_group)
    return member


def group_cleared(people, acme):
    member = people["client_member"]
    acme.members_group.user_set.clear()
    return member


def membership_deleted(people, acme):
    member = people["client_member"]
    member.memberships.all().delete()
    return member


def grant_deleted(people, acme):
    member = people["client_member"]
    thread = messaging_services.thread_create(
        actor=None, account=acme, title="Walled", privileged=True
    )
    messaging_services.thread_grant(actor=None, thread=thread, user=member)
    AccessChange.objects.all().delete()
    permissions.privileged_revoke(thread, member)
    return member


def session_deleted(people, acme):
    member = people["client_member"]
    Session.objects.filter(session_key=signed_in_session(member)).delete()
    return member


def removed_by_the_service(people, acme):
    member = people["client_member"]
    client_accounts.membership_remove(actor=None, account=acme, user=member)
    return member


def suspended(people, acme):
    member = people["client_member"]
    users.user_deactivate(user=member)
    return member


WRITES = [
    switched_off,
    new_password,
    demoted,
    left_a_group,
    group_cleared,
    membership_deleted,
    grant_deleted,
    session_deleted,
    removed_by_the_service,
    suspended,
]


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__ for w in WRITES])
def test_a_reduction_is_noted_and_announced_once(
    people, acme, announced, write, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        person = write(people, acme)
    assert noted() == [person.pk]
    assert announced == [frozenset({person.pk})]


def test_nothing_is_noted_for_writes_that_reduce_nothing(people, acme, announced):
    member = people["client_member"]
    member.name = "Morgan Renamed"
    member.save()
    member.last_login = timezone.now()
    member.save(update_fields=["last_login"])
    member.is_active = False
    member.save(update_fields=["name"])  # the flag is not written, so nothing changed
    staff = people["staff_on_team"]
    staff.firm_role = FirmRole.ADMIN
    staff.save()
    client_accounts.membership_add(actor=None, account=acme, user=factories.user(name="New"))
    signed_in_session(member)
    Session.objects.filter(expire_date__gt=timezone.now()).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    Session.objects.all().delete()  # expired already: their sockets end on their own
    assert noted() == []
    assert announced == []


def test_a_rolled_back_change_is_neither_noted_nor_announced(
    people, acme, announced, django_capture_on_commit_callbacks
):
    member = people["client_member"]
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        switched_off(people, acme)
        raise RuntimeError
    assert noted() == []
    assert announced == []
    # The next transaction is not confused by what the rolled-back one left.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        new_password(people, acme)
    assert noted() == [member.pk]
    assert announced == [frozenset({member.pk})]


def test_recent_notes_are_read_and_old_ones_pruned(people, acme):
    member = people["client_member"]
    old = AccessChange.objects.create(
        user_id=member.pk, at=timezone.now() - access_log.KEEP - timedelta(minutes=1)
    )
    stale = AccessChange.objects.create(
        user_id=member.pk, at=timezone.now() - access_log.LOOKBACK - timedelta(seconds=1)
    )
    fresh = AccessChange.objects.create(user_id=member.pk)
    assert access_log.recent_changes() == [(fresh.pk, member.pk)]
    assert access_log.prune() == 1
    assert set(AccessChange.objects.values_list("pk", flat=True)) == {stale.pk, fresh.pk}
    assert not AccessChange.objects.filter(pk=old.pk).exists()
