"""Recording what happens to a signature request: one ledger entry per step
(``evidence.append``), one thread event (``messaging.timeline.append``), both inside the
caller's transaction, and the e-mails sent after the commit (links only: the document stays
in the portal).

Every entry's subject is the request's public id and its ``content_sha256`` the SHA-256 of
the version asked to be signed; its payload names the request, the document, where the
request came from and how its sender signed in (docs/ledger.md, "Signature requests").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import evidence
from accounts.mail import send_branded_mail
from accounts.models import User
from approvals import signature_selectors as selectors
from approvals.models import SignatureRequest, Signer
from approvals.services.record import grantees_among, origin_json
from messaging import timeline

log = logging.getLogger(__name__)


def request_json(request: SignatureRequest) -> dict:
    return {
        "id": request.public_id,
        "title": request.title,
        "account": {"id": request.account.public_id, "name": request.account.name},
        "thread": request.thread.public_id,
        "order": request.order,
        "status": request.status,
    }


def ledger_append(
    *,
    request: SignatureRequest,
    actor: User | None,
    kind: str,
    meta: dict | None,
    signer: Signer | None = None,
    **facts,
):
    """One ledger entry about ``request``; ``signer``: the participant the step is about
    (their id, name, e-mail and role go into the payload). Returns the entry."""
    payload = {
        "request": request_json(request),
        "document": selectors.document_json(request),
        "from": origin_json(meta),
    }
    if signer is not None:
        payload["signer"] = selectors.person_json(signer.user)
        payload["role"] = signer.role
    payload.update(facts)
    return evidence.append(
        actor=actor,
        kind=kind,
        subject=request.public_id,
        payload=payload,
        content_sha256=request.sha256,
    )


def fresh(request: SignatureRequest) -> SignatureRequest:
    """``request`` read again with everything ``summary_json`` reads (inside the caller's
    transaction: what the event carries is what commits)."""
    return selectors.with_related(SignatureRequest.objects.filter(pk=request.pk)).get()


def thread_post(
    *,
    request: SignatureRequest,
    event_type,
    actor: User | None,
    notify: Iterable[User],
    detail: str,
    **payload,
) -> int:
    """One thread event about ``request`` carrying its current summary; returns its seq."""
    frame = {
        "signature": selectors.summary_json(fresh(request)),
        "by": selectors.person_json(actor) if actor is not None else None,
        "at": timezone.now().isoformat(),
        **payload,
    }
    return timeline.append(
        thread=request.thread,
        event_type=event_type,
        payload=frame,
        actor=actor,
        # Types that notify nobody take no list at all.
        notify=list(notify) if event_type.notifies is not None else None,
        among=grantees_among(request),
        detail=detail[:200],
    )


def _absolute(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def mail_on_commit(
    request: SignatureRequest,
    people: Iterable[User],
    *,
    subject: str,
    template: str,
    context: dict | None = None,
) -> None:
    """After the commit, e-mail each of ``people`` (active, with an address, and for a
    privileged document only its grantees) a link to the request's page; a mail outage is
    logged and never undoes the step."""
    allowed = grantees_among(request)
    addresses = sorted(
        {
            person.email
            for person in people
            if person.email and person.is_active and (allowed is None or person.pk in allowed)
        }
    )
    if not addresses:
        return
    url = _absolute(selectors.request_url(request))
    public_id, title, account = request.public_id, request.title, request.account

    def send() -> None:
        for address in addresses:
            try:
                send_branded_mail(
                    to=[address],
                    subject=subject,
                    template=template,
                    context={"title": title, "account": account, "url": url, **(context or {})},
                )
            except Exception:
                log.exception("mail about signature request %s to one person failed", public_id)

    transaction.on_commit(send)
