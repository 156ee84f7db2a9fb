"""What the portal's pages share."""

from __future__ import annotations

from django.http import Http404

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import User
from accounts.permissions import Action


def account_or_404(user: User, public_id: str, action: Action = Action.VIEW):
    try:
        return permissions.account_for(user, public_id, action)
    except NotFound:
        raise Http404 from None


def threads_by_account_id(summaries: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for summary in summaries:
        grouped.setdefault(summary["account"]["id"], []).append(summary)
    return grouped
