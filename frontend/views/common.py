"""What the portal's pages share."""

from __future__ import annotations

from django.http import Http404

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import User
from accounts.permissions import Action
from approvals.models import PolicyKind, Status


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


# --- approval requests, as lists and pages say them ------------------------------------------

STATUS_WORDS = {
    Status.OPEN: "Waiting for decisions",
    Status.APPROVED: "Approved",
    Status.CHANGES_REQUESTED: "Changes requested",
    Status.REJECTED: "Rejected",
    Status.WITHDRAWN: "Withdrawn",
    Status.EXPIRED: "Expired",
}


def policy_words(policy: str | dict, approvers: int) -> str:
    if policy == PolicyKind.ALL:
        return "every approver" if approvers != 1 else "the approver"
    if policy == PolicyKind.ANY:
        return "any one approver"
    return f"at least {policy['at_least']} of the {approvers} approvers"


def decorated_approval(summary: dict) -> dict:
    """A list row with the words the page shows."""
    counts = summary["counts"]
    return {
        **summary,
        "status_words": STATUS_WORDS.get(summary["status"], summary["status"]),
        "needs": policy_words(summary["policy"], counts["approvers"]),
    }
