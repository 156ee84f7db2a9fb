"""Recording what happened to an invoice or a proposal: one evidence-ledger entry
(``evidence.append``) and one thread event (``messaging.timeline.append``), both inside the
caller's transaction, so they exist exactly when the change committed.

Each ledger entry carries what a dispute needs: who acted (the entry's actor), what (the
kind, the document's number or title, amounts, state), on which content (``content_sha256``
of the document as sent, ``billing.content``), when (the entry's time), from where (address
and user agent) and after which authentication.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

import evidence
from accounts.models import User
from billing import money
from billing.models import Invoice, Proposal
from billing.selectors.json import invoice_card, proposal_card
from messaging import timeline

MAX_AGENT_CHARS = 300


def person_json(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.public_id, "name": user.name, "email": user.email}


def origin_json(meta: dict | None) -> dict | None:
    """Where the request came from and how its sender signed in; None for the system (a
    task, or a payment provider's verified webhook)."""
    if meta is None:
        return None
    return {
        "ip": meta.get("ip"),
        "user_agent": (meta.get("user_agent") or "")[:MAX_AGENT_CHARS],
        "authentication": meta.get("authentication"),
    }


def card(document: Invoice | Proposal) -> dict:
    today = timezone.localdate()
    if isinstance(document, Invoice):
        return invoice_card(document, today=today)
    return proposal_card(document, today=today)


def _document_facts(document: Invoice | Proposal) -> dict:
    currency = document.currency
    facts = {
        "account": {"id": document.account.public_id, "name": document.account.name},
        "currency": currency,
        "total": money.text(document.total, currency),
        "status": document.status,
    }
    if isinstance(document, Invoice):
        facts.update(
            invoice=document.public_id,
            kind=document.kind,
            number=document.number,
            paid=money.text(document.paid, currency),
            credited=money.text(document.credited, currency),
            balance=money.text(document.balance, currency),
        )
    else:
        facts.update(proposal=document.public_id, title=document.title)
    return facts


def ledger_append(
    *,
    document: Invoice | Proposal,
    actor: User | None,
    kind: str,
    meta: dict | None = None,
    **facts,
):
    """One ledger entry about ``document`` (subject: its public id), bound to its
    ``content_sha256`` once sent; returns the entry."""
    payload = {**_document_facts(document), "from": origin_json(meta), **facts}
    return evidence.append(
        actor=actor,
        kind=kind,
        subject=document.public_id,
        payload=payload,
        content_sha256=document.content_sha256 or None,
    )


def thread_post(
    *,
    document: Invoice | Proposal,
    event_type,
    actor: User | None,
    summary: str,
    notify: Iterable[User] | None = None,
    **payload,
) -> int | None:
    """One event in the document's thread carrying its current card and the sentence
    ``summary``; returns its seq (None when the document has no thread). ``notify`` is who
    is told, for a type that notifies (the actor never is)."""
    if document.thread_id is None:
        return None
    key = "invoice" if isinstance(document, Invoice) else "proposal"
    frame = {
        key: card(document),
        "summary": summary,
        "by": person_json(actor),
        "at": timezone.now().isoformat(),
        **payload,
    }
    return timeline.append(
        thread=document.thread,
        event_type=event_type,
        payload=frame,
        actor=actor,
        notify=list(notify) if event_type.notifies is not None and notify is not None else None,
        detail=summary,
    )
