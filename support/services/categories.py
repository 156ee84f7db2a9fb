"""Ticket categories (firm-wide or for one account, in the order clients see them) and their
SLA targets by priority. Firm admins only; see ``support.services.settings``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max, Prefetch, Q

from accounts.errors import Invalid
from accounts.models import ClientAccount, User
from support.models import Category, Priority, SlaTarget
from support.services.checks import (
    LIMITS,
    admin_only,
    by_public_id,
    flag_checked,
    moved,
    renumber,
    text_checked,
    whole_checked,
)

log = logging.getLogger(__name__)

MAX_CATEGORIES = 200
# An SLA target is at most a year of business minutes.
MAX_TARGET_MINUTES = 525_600
TARGET_KINDS = ("first_response_minutes", "resolution_minutes")

_UNSET: Any = object()


def category_get(*, actor: User, public_id: str) -> Category:
    """A category by its public id for a firm admin; NotFound when there is none, Forbidden
    for anyone else."""
    return by_public_id(Category, actor, public_id, "the support categories")


def categories_for_settings(*, actor: User) -> list[Category]:
    """Every category, archived last, with its account and SLA targets (three queries)."""
    admin_only(actor, "the support categories")
    return list(
        Category.objects.select_related("account")
        .prefetch_related(Prefetch("sla_targets", queryset=SlaTarget.objects.all()))
        .order_by("archived", "position", "name", "pk")[:MAX_CATEGORIES]
    )


# --- categories ------------------------------------------------------------------------------


def _category_name_taken(name: str, account: ClientAccount | None, *, but: int | None) -> bool:
    """A name a client would see twice in one list: firm-wide names clash with every other
    category's, an account's own with the firm-wide ones and that account's."""
    rows = Category.objects.filter(archived=False, name__iexact=name)
    if account is not None:
        rows = rows.filter(Q(account__isnull=True) | Q(account=account))
    if but is not None:
        rows = rows.exclude(pk=but)
    return rows.exists()


def category_account_checked(account: object) -> ClientAccount | None:
    if account is None:
        return None
    if not isinstance(account, ClientAccount):
        raise Invalid("account is a client account.", fields={"account": "invalid"})
    return account


def category_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    account: ClientAccount | None = None,
    is_status: bool = False,
) -> Category:
    """A new category at the end of the list, firm-wide or for one account. Invalid:
    ``name`` required, too long or ``taken`` (beside the categories the same clients see),
    ``description`` too long, ``too_many`` categories."""
    admin_only(actor, "the support categories")
    name = text_checked(name, "name", LIMITS["name"], required=True)
    description = text_checked(description, "description", LIMITS["description"], required=False)
    account = category_account_checked(account)
    is_status = flag_checked(is_status, "is_status")
    with transaction.atomic():
        if Category.objects.count() >= MAX_CATEGORIES:
            raise Invalid(
                f"At most {MAX_CATEGORIES} categories.",
                code="too_many",
                fields={"name": "too_many"},
            )
        if _category_name_taken(name, account, but=None):
            raise Invalid(
                "name: there is a category of that name already.",
                code="taken",
                fields={"name": "taken"},
            )
        last = Category.objects.aggregate(last=Max("position"))["last"]
        category = Category.objects.create(
            name=name,
            description=description,
            account=account,
            is_status=is_status,
            position=0 if last is None else last + 1,
        )
    log.info("support: %s added the category %s", actor.public_id, category.public_id)
    return category


def category_update(
    *,
    actor: User,
    category: Category,
    name: str = _UNSET,
    description: str = _UNSET,
    is_status: bool = _UNSET,
) -> Category:
    """Rename a category, change its description or its ``is_status`` flag (tickets already
    in it count as status questions, or not, from then on). Invalid as for create;
    ``nothing_to_change`` when no field is given."""
    admin_only(actor, "the support categories")
    changes: dict[str, object] = {}
    if name is not _UNSET:
        changes["name"] = text_checked(name, "name", LIMITS["name"], required=True)
    if description is not _UNSET:
        changes["description"] = text_checked(
            description, "description", LIMITS["description"], required=False
        )
    if is_status is not _UNSET:
        changes["is_status"] = flag_checked(is_status, "is_status")
    if not changes:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    with transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        if (
            "name" in changes
            and not category.archived
            and _category_name_taken(changes["name"], category.account, but=category.pk)
        ):
            raise Invalid(
                "name: there is a category of that name already.",
                code="taken",
                fields={"name": "taken"},
            )
        for field, value in changes.items():
            setattr(category, field, value)
        category.save(update_fields=list(changes))
    return category


def category_archive(*, actor: User, category: Category, archived: bool = True) -> Category:
    """Archive a category (no new tickets in it; its tickets keep it), or bring it back
    (Invalid ``taken`` if another category has its name by then)."""
    admin_only(actor, "the support categories")
    archived = flag_checked(archived, "archived")
    with transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        if category.archived == archived:
            return category
        if not archived and _category_name_taken(category.name, category.account, but=category.pk):
            raise Invalid(
                "name: another category has this name now; rename one first.",
                code="taken",
                fields={"name": "taken"},
            )
        category.archived = archived
        category.save(update_fields=["archived"])
    log.info(
        "support: %s %s the category %s",
        actor.public_id,
        "archived" if archived else "restored",
        category.public_id,
    )
    return category


def categories_reorder(*, actor: User, order: list[str]) -> None:
    """Put the categories in this order (their public ids, every category once).
    Invalid (``order``) when an id is missing, repeated or unknown."""
    admin_only(actor, "the support categories")
    if not isinstance(order, list) or not all(isinstance(i, str) for i in order):
        raise Invalid("order is a list of category ids.", fields={"order": "invalid"})
    with transaction.atomic():
        rows = {c.public_id: c for c in Category.objects.select_for_update()}
        if len(order) != len(set(order)) or set(order) != set(rows):
            raise Invalid(
                "order names every category exactly once.",
                code="bad_order",
                fields={"order": "bad_order"},
            )
        renumber([rows[i] for i in order], Category)


def category_move(*, actor: User, category: Category, offset: int) -> None:
    """Move a category up (``offset`` -1) or down (+1) among the active categories (an
    archived one among the archived); the first cannot move up nor the last down."""
    admin_only(actor, "the support categories")
    with transaction.atomic():
        rows = list(
            Category.objects.select_for_update()
            .filter(archived=category.archived)
            .order_by("position", "name", "pk")
        )
        renumber(moved(rows, category.pk, offset), Category)


# --- SLA targets -----------------------------------------------------------------------------


def target_field(priority: str, kind: str) -> str:
    """The name a target is known by in forms and in ``error.fields``: ``high_resolution``."""
    return f"{priority}_{kind.removesuffix('_minutes')}"


def sla_targets_set(
    *, actor: User, category: Category, targets: Mapping[str, Mapping[str, object]]
) -> list[SlaTarget]:
    """Set the category's targets for the priorities given (``{"high": {"first_response_minutes":
    60, "resolution_minutes": None}}``; None: no target of that kind). Priorities not given
    keep theirs. Targets are whole business minutes from 1 to a year's; Invalid names the
    field (``high_first_response``). Tickets already open keep the targets they have."""
    admin_only(actor, "the SLA targets")
    if not isinstance(targets, Mapping):
        raise Invalid("targets is an object by priority.", fields={"targets": "invalid"})
    unknown = sorted(set(targets) - set(Priority.values))
    if unknown:
        raise Invalid(
            f"Unknown priority: {', '.join(map(str, unknown))}.",
            code="unknown_priority",
            fields=dict.fromkeys(map(str, unknown), "unknown"),
        )
    checked: dict[str, dict[str, int | None]] = {}
    for priority in Priority.values:
        if priority not in targets:
            continue
        given = targets[priority]
        if not isinstance(given, Mapping) or set(given) - set(TARGET_KINDS):
            raise Invalid(
                f"{priority}: first_response_minutes and resolution_minutes only.",
                fields={priority: "invalid"},
            )
        checked[priority] = {
            kind: whole_checked(
                given.get(kind),
                target_field(priority, kind),
                low=1,
                high=MAX_TARGET_MINUTES,
                none_ok=True,
            )
            for kind in TARGET_KINDS
        }
    with transaction.atomic():
        Category.objects.select_for_update().filter(pk=category.pk).first()
        existing = {t.priority: t for t in SlaTarget.objects.filter(category=category)}
        for priority, values in checked.items():
            row = existing.get(priority)
            if values["first_response_minutes"] is None and values["resolution_minutes"] is None:
                if row is not None:
                    row.delete()
                    del existing[priority]
                continue
            if row is None:
                existing[priority] = SlaTarget.objects.create(
                    category=category, priority=priority, **values
                )
            elif any(getattr(row, k) != v for k, v in values.items()):
                for kind, value in values.items():
                    setattr(row, kind, value)
                row.save(update_fields=list(TARGET_KINDS))
    log.info("support: %s set the SLA targets of %s", actor.public_id, category.public_id)
    return [existing[p] for p in Priority.values if p in existing]
