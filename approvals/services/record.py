"""Recording what happened to a request: one evidence-ledger entry (``evidence.append``) and,
for a transition, one thread event (``messaging.timeline.append``), both inside the caller's
transaction, so they exist exactly when the change committed.

Each ledger entry carries what a dispute needs: who acted (the entry's actor), what (the kind,
verdict, comment, policy, approvers by id and name), on which bytes (the versions with their
SHA-256; ``content_sha256`` when there is exactly one), when (the entry's time), from where
(address and user agent of the request) and after which authentication.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

import evidence
from accounts import permissions
from accounts.models import User
from approvals import selectors
from approvals.models import ApprovalRequest, RequestVersion
from messaging import timeline

MAX_AGENT_CHARS = 300


def person_json(user: User) -> dict:
    return {"id": user.public_id, "name": user.name, "email": user.email}


def origin_json(meta: dict | None) -> dict | None:
    """Where the request came from and how its sender signed in; None for the system."""
    if meta is None:
        return None
    return {
        "ip": meta.get("ip"),
        "user_agent": (meta.get("user_agent") or "")[:MAX_AGENT_CHARS],
        "authentication": meta.get("authentication"),
    }


def ledger_append(
    *,
    request: ApprovalRequest,
    actor: User | None,
    kind: str,
    versions: list[dict],
    approvers: Iterable[User],
    meta: dict | None,
    **facts,
):
    """One ledger entry about ``request``; returns the entry."""
    payload = {
        "title": request.title,
        "request": {
            "id": request.public_id,
            "title": request.title,
            "account": {"id": request.account.public_id, "name": request.account.name},
            "thread": request.thread.public_id,
            "round": request.round,
            "status": request.status,
        },
        "policy": selectors.policy_of(request).as_json(),
        "required": request.required,
        "approvers": [person_json(p) for p in approvers],
        "versions": versions,
        "from": origin_json(meta),
        **facts,
    }
    return evidence.append(
        actor=actor,
        kind=kind,
        subject=request.public_id,
        payload=payload,
        content_sha256=versions[0]["sha256"] if len(versions) == 1 else None,
    )


def grantees_among(request: ApprovalRequest) -> set[int] | None:
    """For a request about privileged documents, the people who may see all of them: who
    may be notified about it. None for an ordinary request."""
    if not request.privileged:
        return None
    allowed: set[int] | None = None
    for document in request.documents_bound():
        if not document.privileged:
            continue
        people = set(permissions.privileged_grantees(document).values_list("pk", flat=True))
        allowed = people if allowed is None else allowed & people
    return allowed or set()


def thread_post(
    *,
    request: ApprovalRequest,
    event_type,
    actor: User | None,
    notify: Iterable[User] | None,
    detail: str,
    versions: list[RequestVersion] | None = None,
    **payload,
) -> int:
    """One thread event about ``request`` carrying its current summary; returns its seq."""
    tally = selectors.round_tally(request)
    frame = {
        "approval": selectors.summary_json(request, tally=tally),
        "by": selectors.person_json(actor),
        # When it happened, for the conversation's time stamps and day separators.
        "at": timezone.now().isoformat(),
        **payload,
    }
    if versions is not None:
        frame["versions"] = selectors.versions_json(versions)
    return timeline.append(
        thread=request.thread,
        event_type=event_type,
        payload=frame,
        actor=actor,
        notify=list(notify) if notify is not None else [],
        among=grantees_among(request),
        detail=detail[:200],
    )
