"""The access-change log: every reduction of someone's access, noted where it is made.

A person's access shrinks through the services (which say so with
``signals.access_reduced_on_commit``) but also around them: a user switched off or given a
new password in the Django admin or a shell, a session deleted, a group or object permission
row removed by hand through the ORM. The receivers here notice those writes on the models
themselves, so every path that goes through the ORM, in any process, notes the change
(``AccessChange``) inside the same transaction and announces it (``signals.access_reduced``)
once it commits. Open sockets learn of it from the announcement at once when it reaches
their worker, and from the log (``recent_changes``, read by every worker about twice a
second) when it does not: another process on the in-memory channel layer, a lost push.

Raw SQL bypasses all of this; workers also re-check their sockets on a timer
(``messaging.access``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from accounts import signals
from accounts.models import AccessChange, FirmRole

log = logging.getLogger(__name__)

# How far back each read of the log looks. A note is written inside its transaction and
# becomes visible at the commit, so a note is missed only if its transaction took longer
# than this to commit (or the writer's clock is this far off): the timed re-check covers it.
LOOKBACK = timedelta(seconds=10)
# Notes are kept this long, then pruned by the workers that read them.
KEEP = timedelta(hours=1)

_FIRM_RANK = {FirmRole.ADMIN: 2, FirmRole.STAFF: 1, FirmRole.NONE: 0}
# The fields of a user whose change can reduce access.
_USER_FIELDS = ("is_active", "password", "firm_role")
_MARK = "_atrium_access_reduced"
_PENDING = "_atrium_access_pending"


def note(user_ids) -> None:
    """Note, inside the current transaction, that these users may see less, and announce it
    (``signals.access_reduced``) once the transaction commits: once per user and transaction,
    however many of the writes in it reduced their access."""
    user_ids = {int(pk) for pk in user_ids if pk is not None}
    if not user_ids:
        return
    connection = transaction.get_connection()
    pending = _pending(connection) if connection.in_atomic_block else None
    if pending is not None:
        user_ids -= pending
        if not user_ids:
            return
        pending |= user_ids
    AccessChange.objects.bulk_create([AccessChange(user_id=pk) for pk in sorted(user_ids)])
    if pending is None:
        frozen = frozenset(user_ids)
        transaction.on_commit(lambda: signals.access_reduced.send(sender=None, user_ids=frozen))


def _pending(connection) -> set[int]:
    """The users noted in the transaction under way, announced together at its commit. A
    set left by a transaction that rolled back (its callback is gone) is not reused."""
    current = connection.__dict__.get(_PENDING)
    if current is not None:
        users, announce = current
        if any(entry[1] is announce for entry in connection.run_on_commit):
            return users
    users: set[int] = set()

    def announce() -> None:
        connection.__dict__.pop(_PENDING, None)
        signals.access_reduced.send(sender=None, user_ids=frozenset(users))

    connection.__dict__[_PENDING] = (users, announce)
    transaction.on_commit(announce, using=connection.alias)
    return users


def recent_changes() -> list[tuple[int, int]]:
    """The notes of the last ``LOOKBACK``, as ``(id, user_id)``, in one query."""
    since = timezone.now() - LOOKBACK
    return list(AccessChange.objects.filter(at__gte=since).values_list("id", "user_id"))


def prune() -> int:
    """Delete the notes older than ``KEEP``; returns how many."""
    count, _ = AccessChange.objects.filter(at__lt=timezone.now() - KEEP).delete()
    return count


# --- receivers --------------------------------------------------------------------------


def _user_before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Compare the fields that matter with the stored row: switched off, a new password
    (which ends the person's other sessions), or a lower firm role."""
    instance.__dict__.pop(_MARK, None)
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_USER_FIELDS):
        return
    stored = (
        sender._default_manager.using(kwargs.get("using") or "default")
        .filter(pk=instance.pk)
        .values(*_USER_FIELDS)
        .first()
    )
    if stored is None:
        return
    fields = _USER_FIELDS if update_fields is None else set(update_fields)
    reduced = (
        ("is_active" in fields and stored["is_active"] and not instance.is_active)
        or ("password" in fields and stored["password"] != instance.password)
        or (
            "firm_role" in fields
            and _FIRM_RANK.get(instance.firm_role, 0) < _FIRM_RANK.get(stored["firm_role"], 0)
        )
    )
    if reduced:
        instance.__dict__[_MARK] = True


def _user_saved(sender, instance, raw=False, **kwargs) -> None:
    if instance.__dict__.pop(_MARK, False) and not raw:
        note({instance.pk})


def _user_deleted(sender, instance, **kwargs) -> None:
    note({instance.pk})


def _row_of_user_deleted(sender, instance, **kwargs) -> None:
    """A membership, a team place or an explicit object permission of one user."""
    note({instance.user_id})


def _group_permission_deleted(sender, instance, **kwargs) -> None:
    note(instance.group.user_set.values_list("pk", flat=True))


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Someone left a group (``user.groups.remove``/``clear`` or ``group.user_set.…``)."""
    if action == "post_remove":
        note(pk_set if reverse else {instance.pk})
    elif action == "pre_clear":
        note(instance.user_set.values_list("pk", flat=True) if reverse else {instance.pk})


def _session_deleted(sender, instance, **kwargs) -> None:
    """A signed-in session was deleted (signed out, flushed, removed by hand): the sockets
    opened with it end. An expired one needs no note: sockets end at its expiry anyway."""
    if instance.expire_date <= timezone.now():
        return
    try:
        user_pk = instance.get_decoded().get(SESSION_KEY)
    except Exception:  # a session the current secret cannot read signs nobody in
        return
    if user_pk is None:
        return
    try:
        note({get_user_model()._meta.pk.to_python(user_pk)})
    except Exception:
        log.warning("session of an unreadable user id %r deleted", user_pk)


def connect_receivers() -> None:
    """Called once from ``AccountsConfig.ready``."""
    from django.apps import apps
    from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

    from accounts.models import Membership, TeamAssignment

    user_model = get_user_model()
    uid = "accounts.access_log"
    pre_save.connect(_user_before_save, sender=user_model, dispatch_uid=uid)
    post_save.connect(_user_saved, sender=user_model, dispatch_uid=uid)
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid=uid)
    for model in (Membership, TeamAssignment, get_user_obj_perms_model()):
        post_delete.connect(_row_of_user_deleted, sender=model, dispatch_uid=uid)
    post_delete.connect(
        _group_permission_deleted, sender=get_group_obj_perms_model(), dispatch_uid=uid
    )
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid=uid)
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        post_delete.connect(_session_deleted, sender=Session, dispatch_uid=uid)
