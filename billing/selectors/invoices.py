"""Invoices and credit notes of an account as the API lists them, filtered by what the user
may see: those who serve the account see its drafts too, its client people only what was
sent to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from accounts import permissions
from accounts.errors import Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from accounts.selectors import DEFAULT_PAGE, rows_after
from billing.models import OPEN_STATUSES, OVERDUE, Invoice, Status
from billing.selectors.json import INVOICE_RELATED, invoice_json

STATUSES = frozenset({*Status.values, OVERDUE})


@dataclass
class Page:
    rows: list[dict]
    next: str | None


def checked_status(value: object) -> str | None:
    if value in (None, ""):
        return None
    if value not in STATUSES:
        raise Invalid(
            f"status is one of {', '.join(sorted(STATUSES))}.", fields={"status": "invalid"}
        )
    return str(value)


def _visible(user: User, account: ClientAccount) -> QuerySet[Invoice]:
    if not permissions.can_on_account(user, Action.VIEW, account):
        raise NotFound
    found = Invoice.objects.filter(account=account)
    if not permissions.can_bill_account(user, account):
        found = found.exclude(status=Status.DRAFT)
    return found


def invoices_of(
    user: User,
    account: ClientAccount,
    *,
    today: date,
    status: object = None,
    cursor: object = None,
    limit: int = DEFAULT_PAGE,
) -> Page:
    """The account's invoices and credit notes, newest first, a page at a time, each as
    ``invoice_json``; ``status`` one of the stored states or ``overdue`` (open and past its
    due date). NotFound if the user cannot see the account. Three queries a page (four with
    a cursor), whatever its size."""
    found = _visible(user, account)
    wanted = checked_status(status)
    if wanted == OVERDUE:
        found = found.filter(status__in=OPEN_STATUSES, due_date__lt=today)
    elif wanted is not None:
        found = found.filter(status=wanted)
    found = rows_after(found, cursor, newest_first=True).order_by("-created_at", "-public_id")
    rows = list(found.select_related(*INVOICE_RELATED).prefetch_related("lines")[: limit + 1])
    following = rows[limit - 1].public_id if len(rows) > limit else None
    return Page([invoice_json(row, today=today) for row in rows[:limit]], following)
