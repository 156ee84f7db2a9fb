"""Telling people about new documents and versions, through the messaging event path.

A document anyone in the account may see is announced in the account's General thread: a
``document.added`` event that subscribers receive live and that counts as unread, and a
notification for everyone following that thread. A privileged document is announced only in
the privileged threads of its matter, and only its grantees are notified: its existence is
never shown to anyone else.
"""

from __future__ import annotations

import logging

from accounts import permissions
from accounts.models import User
from accounts.selectors import person_json
from messaging import timeline
from messaging.models import Thread
from messaging.services import thread_ensure_general
from vault.models import Document, Version
from vault.selectors import document_json, version_json
from vault.timeline import DOCUMENT_ADDED

log = logging.getLogger(__name__)


def _threads_for(document: Document) -> list[Thread]:
    if not document.privileged:
        return [thread_ensure_general(document.account)]
    if document.matter_id is None:
        return []
    return list(Thread.objects.filter(matter_id=document.matter_id, privileged=True))


def document_added(*, actor: User, document: Document, version: Version, created: bool) -> None:
    """Post the event and the notifications (after the upload committed; a failure here is
    logged and never undoes the upload)."""
    try:
        among = (
            set(permissions.privileged_grantees(document).values_list("pk", flat=True))
            if document.privileged
            else None
        )
        detail = (
            f"added {document.title}"
            if created
            else f"added version {version.number} of {document.title}"
        )
        for thread in _threads_for(document):
            timeline.append(
                thread=thread,
                event_type=DOCUMENT_ADDED,
                actor=actor,
                detail=detail,
                among=among,
                payload={
                    "created": created,
                    "by": person_json(actor),
                    "document": document_json(document),
                    "version": version_json(version),
                },
            )
    except Exception:
        log.exception("vault: announcing %s failed", version.public_id)
