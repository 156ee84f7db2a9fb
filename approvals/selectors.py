"""Reads of approval requests, filtered by what the user may see (``accounts.permissions``),
and the JSON shapes of the API, of thread events and of pages.

Lists are bounded (cursor pages) and cost a fixed number of queries whatever their length:
counts, versions and approvers of a page are fetched for the whole page at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts import selectors as accounts_selectors
from accounts.models import ClientAccount, User
from approvals import policy
from approvals.models import (
    ApprovalRequest,
    Approver,
    Decision,
    RequestVersion,
    Status,
    ViewReceipt,
)
from evidence import selectors as evidence_selectors
from vault.models import Document

# Lists page as the accounts' lists do: ?limit= from 1 to 100, 50 by default.
DEFAULT_PAGE = accounts_selectors.DEFAULT_PAGE
page_limit = accounts_selectors.page_limit


def expiry_days() -> int:
    return int(getattr(settings, "ATRIUM_APPROVAL_EXPIRY_DAYS", 14))


def today():
    return timezone.localdate()


def request_url(request: ApprovalRequest) -> str:
    """The request's page in the portal."""
    return f"/approvals/{request.public_id}/"


def api_url(request: ApprovalRequest) -> str:
    return f"/api/v1/approvals/{request.public_id}"


person_json = accounts_selectors.person_json


def policy_of(request: ApprovalRequest) -> policy.Policy:
    return policy.Policy(request.policy, request.required if request.policy == "at_least" else None)


# --- visibility ---------------------------------------------------------------------------------


def visible_requests(
    user: User,
    queryset: QuerySet[ApprovalRequest],
    *,
    accounts: permissions.VisibleAccounts | None = None,
) -> QuerySet[ApprovalRequest]:
    """``queryset`` narrowed to the requests ``user`` may see (``permissions.can_view_approval``
    in SQL): of an account they see, and, for a request about privileged documents, only if
    every privileged document of it is open to them. ``accounts`` as for
    ``permissions.visible_items``."""
    granted = permissions.visible_items(
        user, Document.objects.filter(privileged=True), accounts=accounts
    )
    hidden = RequestVersion.objects.filter(version__document__privileged=True).exclude(
        version__document__in=granted.values("pk")
    )
    return queryset.filter(account__in=permissions.account_filter(user, accounts)).exclude(
        Q(privileged=True) & Q(pk__in=hidden.values("request"))
    )


# --- one request --------------------------------------------------------------------------------


def versions_json(bound: list[RequestVersion]) -> list[dict]:
    """The versions of a round as the ledger records them: which document, which version,
    which bytes."""
    return [
        {
            "id": row.version.public_id,
            "document": row.version.document.public_id,
            "title": row.version.document.title,
            "number": row.version.number,
            "sha256": row.version.sha256,
        }
        for row in bound
    ]


def version_api_json(request: ApprovalRequest, row: RequestVersion) -> dict:
    version, document = row.version, row.version.document
    base = f"{api_url(request)}/versions/{version.public_id}"
    return {
        "id": version.public_id,
        "document": {"id": document.public_id, "title": document.title},
        "number": version.number,
        "filename": version.filename,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "created_at": version.created_at.isoformat(),
        "download_url": f"{base}/download",
        "viewed_url": f"{base}/viewed",
    }


def decision_json(decision: Decision) -> dict:
    return {
        "id": decision.public_id,
        "approver": person_json(decision.approver),
        "round": decision.round,
        "verdict": decision.verdict,
        "comment": decision.comment,
        "versions": list(decision.versions),
        "decided_at": decision.decided_at.isoformat(),
        "ledger_index": decision.ledger_index,
    }


def receipt_json(receipt: ViewReceipt) -> dict:
    return {
        "user": person_json(receipt.user),
        "version": receipt.version.public_id,
        "sha256": receipt.sha256,
        "first_seen_at": receipt.first_seen_at.isoformat(),
        "ledger_index": receipt.ledger_index,
    }


def summary_json(request: ApprovalRequest, *, tally: policy.Tally, now_day=None) -> dict:
    """What a card shows, and what every thread event of the request carries."""
    day = now_day or today()
    return {
        "id": request.public_id,
        "account": request.account.public_id,
        "thread": request.thread.public_id,
        "title": request.title,
        "status": request.status,
        "policy": policy_of(request).as_json(),
        "round": request.round,
        "counts": tally.as_json(request.required),
        "due": request.due.isoformat() if request.due else None,
        "overdue": policy.is_overdue(status=request.status, due=request.due, today=day),
        "privileged": request.privileged,
        "url": request_url(request),
    }


def round_tally(request: ApprovalRequest, approvers: int | None = None) -> policy.Tally:
    verdicts = Decision.objects.filter(request=request, round=request.round).values_list(
        "verdict", flat=True
    )
    if approvers is None:
        approvers = Approver.objects.filter(request=request).count()
    return policy.Tally.of(approvers, verdicts)


def bound_versions(request: ApprovalRequest, round: int | None = None) -> list[RequestVersion]:
    rows = RequestVersion.objects.filter(request=request).select_related("version__document")
    if round is not None:
        rows = rows.filter(round=round)
    return list(rows.order_by("round", "position"))


@dataclass
class Detail:
    """Everything the request's page shows, read in a fixed number of queries."""

    request: ApprovalRequest
    approvers: list[User]
    rounds: dict[int, list[RequestVersion]]
    decisions: list[Decision]
    receipts: list[ViewReceipt]
    tally: policy.Tally
    history: list[dict] = field(default_factory=list)

    @property
    def versions(self) -> list[RequestVersion]:
        return self.rounds.get(self.request.round, [])


def approval_detail(request: ApprovalRequest, *, with_history: bool = True) -> Detail:
    """The request with its approvers, the versions of every round, every decision (oldest
    first), the receipts and its history (the ledger's entries about it). Precondition: the
    viewer may see it (``services.approval_for``)."""
    approvers = [
        row.user
        for row in Approver.objects.filter(request=request)
        .select_related("user")
        .order_by("position")
    ]
    rounds: dict[int, list[RequestVersion]] = defaultdict(list)
    for row in bound_versions(request):
        rounds[row.round].append(row)
    decisions = list(
        Decision.objects.filter(request=request)
        .select_related("approver")
        .order_by("decided_at", "pk")
    )
    receipts = list(
        ViewReceipt.objects.filter(request=request)
        .select_related("user", "version")
        .order_by("first_seen_at", "pk")
    )
    tally = policy.Tally.of(
        len(approvers), [d.verdict for d in decisions if d.round == request.round]
    )
    detail = Detail(request, approvers, dict(rounds), decisions, receipts, tally)
    if with_history:
        detail.history = approval_history(request)
    return detail


def approval_history(request: ApprovalRequest) -> list[dict]:
    """The request's history as the evidence ledger records it, oldest first: when, who,
    what (the entry's kind) and the ledger index, for the request's page."""
    history = []
    for entry in evidence_selectors.entries_about(request.public_id):
        index, payload = entry["index"], entry["payload"]
        history.append(
            {
                "index": index,
                "at": entry["at"],
                "kind": entry["kind"],
                "actor": entry["actor"]
                and {
                    "id": entry["actor"]["id"],
                    "name": entry["actor"]["name"],
                },
                "round": payload.get("request", {}).get("round"),
                "verdict": payload.get("verdict"),
                "versions": [
                    {"id": v["id"], "sha256": v["sha256"]} for v in payload.get("versions", [])
                ],
            }
        )
    return history


def detail_json(detail: Detail, *, viewer: User) -> dict:
    request = detail.request
    current = {d.approver_id: d for d in detail.decisions if d.round == request.round}
    approver_ids = {a.pk for a in detail.approvers}
    data = summary_json(request, tally=detail.tally)
    data.update(
        {
            "message": request.message,
            "required": request.required,
            "created_by": person_json(request.created_by),
            "created_at": request.created_at.isoformat(),
            "updated_at": request.updated_at.isoformat(),
            "closed_at": request.closed_at.isoformat() if request.closed_at else None,
            "withdraw_reason": request.withdraw_reason,
            "versions": [version_api_json(request, row) for row in detail.versions],
            "approvers": [
                {
                    **person_json(person),
                    "verdict": current[person.pk].verdict if person.pk in current else None,
                    "decision": current[person.pk].public_id if person.pk in current else None,
                }
                for person in detail.approvers
            ],
            "decisions": [decision_json(d) for d in detail.decisions],
            "receipts": [receipt_json(r) for r in detail.receipts],
            "rounds": [
                {"round": number, "versions": versions_json(rows)}
                for number, rows in sorted(detail.rounds.items())
            ],
            "history": detail.history,
            "evidence_url": f"{api_url(request)}/evidence",
            "you": {
                "approver": viewer.pk in approver_ids,
                "decided": viewer.pk in current,
                "may_decide": viewer.pk in approver_ids
                and viewer.pk not in current
                and policy.may_decide(request.status),
                "may_withdraw": policy.may_withdraw(request.status)
                and permissions.can_withdraw_approval(viewer, request),
            },
        }
    )
    return data


# --- lists --------------------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[dict]
    next: str | None


def _page(queryset: QuerySet[ApprovalRequest], *, cursor: object, limit: int) -> Page:
    """Newest first; ``cursor`` is the id of the last request of the previous page (among
    those of this list), ``next`` the cursor of the following page or None."""
    queryset = queryset.order_by("-created_at", "-public_id")
    queryset = accounts_selectors.rows_after(queryset, cursor, newest_first=True)
    requests = list(queryset.select_related("account", "thread")[: limit + 1])
    more = len(requests) > limit
    requests = requests[:limit]
    return Page(summaries(requests), requests[-1].public_id if more else None)


def summaries(requests: list[ApprovalRequest]) -> list[dict]:
    """Summaries with the current round's counts and versions, in three queries for the whole
    list."""
    if not requests:
        return []
    pks = [r.pk for r in requests]
    approvers: dict[int, int] = defaultdict(int)
    for request_id in Approver.objects.filter(request__in=pks).values_list("request_id", flat=True):
        approvers[request_id] += 1
    rounds = {r.pk: r.round for r in requests}
    verdicts: dict[int, list[str]] = defaultdict(list)
    for request_id, round_, verdict in Decision.objects.filter(request__in=pks).values_list(
        "request_id", "round", "verdict"
    ):
        if round_ == rounds[request_id]:
            verdicts[request_id].append(verdict)
    versions: dict[int, list[RequestVersion]] = defaultdict(list)
    for row in (
        RequestVersion.objects.filter(request__in=pks)
        .select_related("version__document")
        .order_by("position")
    ):
        if row.round == rounds[row.request_id]:
            versions[row.request_id].append(row)
    day = today()
    return [
        {
            **summary_json(r, tally=policy.Tally.of(approvers[r.pk], verdicts[r.pk]), now_day=day),
            "versions": versions_json(versions[r.pk]),
            "created_at": r.created_at.isoformat(),
        }
        for r in requests
    ]


def approvals_of_account(
    user: User, account: ClientAccount, *, cursor: object = None, limit: int = DEFAULT_PAGE
) -> Page:
    """The account's requests the user may see, newest first. Precondition: the user may
    see the account (``permissions.account_for``)."""
    queryset = visible_requests(user, ApprovalRequest.objects.filter(account=account))
    return _page(queryset, cursor=cursor, limit=limit)


def awaiting(
    user: User,
    *,
    cursor: object = None,
    limit: int = DEFAULT_PAGE,
    accounts: permissions.VisibleAccounts | None = None,
) -> Page:
    """ "Waiting for you": open requests, in every account the user sees, where they are an
    approver and have not decided in the current round. ``accounts`` as for
    ``permissions.visible_items``."""
    decided = Decision.objects.filter(
        request=OuterRef("pk"), approver=user, round=OuterRef("round")
    )
    candidates = ApprovalRequest.objects.filter(
        status=Status.OPEN, approver_rows__user=user
    ).exclude(Exists(decided))
    # One small query first: is any open request the person's to decide, and is any of those
    # about privileged documents? Most people have nothing waiting, and the exclusion of
    # privileged documents not granted to them is most of the statement's cost to build.
    privileged = set(
        Approver.objects.filter(user=user, request__status=Status.OPEN)
        .values_list("request__privileged", flat=True)
        .distinct()
    )
    if not privileged and cursor in (None, ""):
        return Page([], None)
    if True in privileged:
        queryset = visible_requests(user, candidates, accounts=accounts)
    else:
        # The exclusion keeps out privileged requests only: none is among these (one opened
        # since is left out rather than shown unchecked).
        queryset = candidates.filter(privileged=False).filter(
            account__in=permissions.account_filter(user, accounts)
        )
    return _page(queryset, cursor=cursor, limit=limit)
