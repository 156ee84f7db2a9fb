"""Reads of signature requests, filtered by what the user may see (``accounts.permissions``),
and the JSON shape the API, thread events and pages share (``summary_json``).

A list costs a fixed number of queries whatever its length: the document, the people and
the vault versions made on completion come with each request, and the participants of the
whole list in one more query (``signatures_visible`` prefetches them).
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import ClientAccount, User
from accounts.selectors import DEFAULT_PAGE, rows_after
from approvals.models import (
    SignatureRequest,
    SignatureStatus,
    Signer,
    SignerRole,
    SignerStatus,
)
from vault.models import Document

PDF_TYPE = "application/pdf"
WAITING_LIMIT = 20


def request_url(request: SignatureRequest) -> str:
    """The request's page in the portal."""
    return f"/signatures/{request.public_id}/"


def api_url(request: SignatureRequest) -> str:
    return f"/api/v1/signatures/{request.public_id}"


def person_json(user: User) -> dict:
    return {"id": user.public_id, "name": user.name, "email": user.email}


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def document_json(request: SignatureRequest) -> dict:
    """The version asked to be signed, as the ledger and the API name it: which document,
    which version, which bytes."""
    version = request.version
    return {
        "version": version.public_id,
        "document": version.document.public_id,
        "title": version.document.title,
        "filename": version.filename,
        "size": version.size,
        "sha256": request.sha256,
    }


def participants(request: SignatureRequest) -> list[Signer]:
    """The request's participants in position order, with their users (prefetched by
    ``signatures_visible`` and ``with_related``; one query otherwise)."""
    return sorted(request.signers.all(), key=lambda row: row.position)


def signer_json(row: Signer) -> dict:
    return {
        "user": person_json(row.user),
        "role": row.role,
        "position": row.position,
        "status": row.status,
        "viewed_at": _time(row.viewed_at),
        "consented_at": _time(row.consented_at),
        "acted_at": _time(row.acted_at),
        "declined_at": _time(row.declined_at),
        "decline_reason": row.decline_reason,
        "method": row.method,
        "signature_name": row.signature_name,
    }


def is_overdue(request: SignatureRequest, day=None) -> bool:
    day = day or timezone.localdate()
    return request.status == SignatureStatus.OPEN and request.due is not None and request.due < day


def turn_of(rows: list[Signer]) -> list[Signer]:
    """The participants whose turn it is (asked, not yet acted)."""
    return [row for row in rows if row.status == SignerStatus.PENDING]


def summary_json(request: SignatureRequest, *, today=None) -> dict:
    """What the API answers, what a card shows and what every thread event of the request
    carries. Precondition for a list: the request comes from ``signatures_visible`` or
    ``with_related`` (else a few queries per request)."""
    rows = participants(request)
    document = document_json(request)
    document["pdf"] = request.version.content_type == PDF_TYPE
    return {
        "id": request.public_id,
        "title": request.title,
        "status": request.status,
        "order": request.order,
        "due": request.due.isoformat() if request.due else None,
        "overdue": is_overdue(request, today),
        "message": request.message,
        "privileged": request.privileged,
        "document": document,
        "created_by": person_json(request.created_by),
        "created_at": request.created_at.isoformat(),
        "closed_at": _time(request.closed_at),
        "void_reason": request.void_reason,
        "signers": [signer_json(row) for row in rows],
        "counts": {
            "signers": sum(row.role == SignerRole.SIGNER for row in rows),
            "signed": sum(row.status == SignerStatus.SIGNED for row in rows),
            "approvers": sum(row.role == SignerRole.APPROVER for row in rows),
            "approved": sum(row.status == SignerStatus.APPROVED for row in rows),
        },
        # A closed request waits for nobody, whatever the rows of those never reached say.
        "turn": (
            [row.user.public_id for row in turn_of(rows)]
            if request.status == SignatureStatus.OPEN
            else []
        ),
        "certificate": request.certificate.public_id if request.certificate_id else None,
        "signed": request.signed.public_id if request.signed_id else None,
        "sealed_at": _time(request.sealed_at),
        "url": request_url(request),
    }


def with_related(queryset: QuerySet[SignatureRequest]) -> QuerySet[SignatureRequest]:
    """Everything ``summary_json`` reads, for any number of requests in a fixed number of
    queries."""
    return queryset.select_related(
        "account",
        "thread",
        "version__document",
        "created_by",
        "certificate",
        "signed",
    ).prefetch_related(
        Prefetch(
            "signers",
            queryset=Signer.objects.select_related("user").order_by("position"),
        )
    )


def visible_filter(user: User, queryset: QuerySet[SignatureRequest]) -> QuerySet[SignatureRequest]:
    """``queryset`` narrowed to the requests ``user`` may see (``permissions.can_on_signature``
    VIEW, in SQL): of an account they see, and for a privileged document only by its grant."""
    granted = permissions.visible_items(user, Document.objects.filter(privileged=True))
    return queryset.filter(account__in=permissions.account_filter(user)).exclude(
        Q(privileged=True) & ~Q(version__document__in=granted.values("pk"))
    )


def signatures_visible(
    user: User, *, account: ClientAccount | None = None, status: str | None = None
) -> QuerySet[SignatureRequest]:
    """The requests ``user`` may see, newest first, of one ``account`` and in one ``status``
    when given, ready for ``summary_json``."""
    queryset = SignatureRequest.objects.all()
    if account is not None:
        queryset = queryset.filter(account=account)
    if status is not None:
        queryset = queryset.filter(status=status)
    return with_related(visible_filter(user, queryset)).order_by("-created_at", "-public_id")


def waiting_for(user: User, limit: int = WAITING_LIMIT) -> list[SignatureRequest]:
    """Open requests where it is ``user``'s turn (to sign or approve), oldest first: what
    waits for them."""
    pending = Signer.objects.filter(
        user=user, status=SignerStatus.PENDING, request__status=SignatureStatus.OPEN
    )
    # Most pages find nothing waiting: one small indexed query says so, without building
    # the visibility filter (the privileged-documents exclusion is a large statement).
    if not pending.exists():
        return []
    queryset = SignatureRequest.objects.filter(pk__in=pending.values("request_id"))
    return list(
        with_related(visible_filter(user, queryset)).order_by("created_at", "public_id")[:limit]
    )


def summary_of(request: SignatureRequest) -> dict:
    """``summary_json`` of one request read again with everything it reads."""
    return summary_json(with_related(SignatureRequest.objects.filter(pk=request.pk)).get())


def signatures_page(
    user: User,
    *,
    account: ClientAccount,
    status: str | None = None,
    cursor: object = None,
    limit: int = DEFAULT_PAGE,
) -> tuple[list[dict], str | None]:
    """One page of ``signatures_visible`` as summaries, newest first, and the cursor of the
    next page (None on the last). ``cursor`` is the id of the last request of the previous
    page; Invalid ``bad_cursor`` for one that is not in this list."""
    queryset = signatures_visible(user, account=account, status=status)
    queryset = rows_after(queryset, cursor, newest_first=True)
    requests = list(queryset[: limit + 1])
    more = len(requests) > limit
    requests = requests[:limit]
    day = timezone.localdate()
    rows = [summary_json(r, today=day) for r in requests]
    return rows, requests[-1].public_id if more else None
