"""Each account's plan version: what the status pages key the account's kept plans by
(``projects.selectors.account_plans``).

``plan_changed`` is the one writer of the versions. It is called, inside the changing
transaction, by everything that changes what the pages show of an account's matters,
milestones and tasks: ``projects.announce.plan_announce`` (every service of ``projects``,
the template's bulk insert and the tasks completed by documents and approvals among them)
and the receivers of ``projects.receivers`` on every save of a matter, milestone or task
(the matters' own services in ``accounts``, the admin, anything that saves a row) and on a
matter's deletion (``plan_versions_moved``). A write
that is rolled back takes its new version with it; one that commits makes the kept plans of
that account, and of no other, unreachable.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from projects.models import PlanVersion

# The version of an account that has none stored yet.
UNSET = 0


def plan_changed(*, account_ids: Iterable[int]) -> None:
    """Give each account a new plan version, inside the caller's transaction (one statement:
    an insert that updates the row when there is one). The new row stays locked until the
    transaction ends, so two writers of one account take turns from here; writers of other
    accounts never meet."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    # Sorted, so that two transactions moving the same accounts lock them in one order.
    PlanVersion.objects.bulk_create(
        [PlanVersion(account_id=pk, version=secrets.randbits(62) + 1) for pk in ids],
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["version"],
    )


def plan_versions_moved(*, account_ids: Iterable[int]) -> None:
    """``plan_changed`` for a write that may be part of deleting the account itself (a
    matter deleted, alone or with its account): only versions that exist are moved, since a
    row inserted for an account being deleted would outlive it. Every account has one from
    its creation on (``projects.receivers.on_account_saved``, and the migration that began
    keeping them)."""
    ids = sorted(set(account_ids))
    for pk in ids:
        PlanVersion.objects.filter(account_id=pk).update(version=secrets.randbits(62) + 1)


def plan_versions(account_ids: Iterable[int]) -> dict[int, int]:
    """The current version of each account (``UNSET`` for one without a row): one query."""
    ids = list(account_ids)
    if not ids:
        return {}
    found = dict(
        PlanVersion.objects.filter(account_id__in=ids).values_list("account_id", "version")
    )
    return {pk: found.get(pk, UNSET) for pk in ids}
