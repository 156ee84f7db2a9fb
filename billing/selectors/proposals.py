"""An account's proposals as the API lists them, newest first, a page at a time: what the
viewer may see (the client's people never see drafts), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from accounts import permissions
from accounts.errors import Invalid
from accounts.models import ClientAccount, User
from accounts.selectors import rows_after
from billing.models import EXPIRED, Proposal, ProposalStatus
from billing.selectors.json import PROPOSAL_RELATED, proposal_json

STATUSES = frozenset({*ProposalStatus.values, EXPIRED})


@dataclass
class ProposalsPage:
    rows: list[dict]
    next: str | None


def proposals_of(
    user: User,
    account: ClientAccount,
    *,
    today: date,
    status: object = None,
    cursor: object = None,
    limit: int = 50,
) -> ProposalsPage:
    """Precondition: ``user`` may see ``account`` (``permissions.account_for``). ``status``
    narrows to one state (``expired``: sent and past its validity date on ``today``);
    Invalid ``status`` ``invalid`` for another word."""
    rows = Proposal.objects.filter(account=account)
    if not permissions.can_bill_account(user, account):
        rows = rows.exclude(status=ProposalStatus.DRAFT)
    if status not in (None, ""):
        if status not in STATUSES:
            raise Invalid(
                f"status is one of {', '.join(sorted(STATUSES))}.", fields={"status": "invalid"}
            )
        if status == EXPIRED:
            rows = rows.filter(status=ProposalStatus.SENT, valid_until__lt=today)
        elif status == ProposalStatus.SENT:
            rows = rows.filter(status=status).exclude(valid_until__lt=today)
        else:
            rows = rows.filter(status=status)
    rows = rows_after(rows, cursor, newest_first=True)
    found = list(
        rows.select_related(*PROPOSAL_RELATED)
        .prefetch_related("lines")
        .order_by("-created_at", "-public_id")[: limit + 1]
    )
    more = len(found) > limit
    found = found[:limit]
    return ProposalsPage(
        rows=[proposal_json(proposal, today=today) for proposal in found],
        next=found[-1].public_id if more and found else None,
    )
