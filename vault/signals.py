"""Signals other apps listen to, so that the vault never imports them."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

# A new version of an existing document was stored; sent once the storing transaction has
# committed (never for a rolled-back one). Arguments: document, version, actor (who added it),
# meta (the request's address and user agent, or None).
version_added = Signal()

# A document was added, or given a new version; sent once the storing transaction has
# committed (``accounts.signals.send_on_commit``). Receivers read the document again.
# Arguments: document_pk.
document_changed = Signal()

log = logging.getLogger(__name__)


def version_added_on_commit(*, document, version, actor, meta: dict | None) -> None:
    """Send ``version_added`` after the commit. A receiver that fails is logged; it never
    undoes the upload, nor keeps the other receivers from hearing of it."""

    def send() -> None:
        answers = version_added.send_robust(
            sender=type(version), document=document, version=version, actor=actor, meta=meta
        )
        for receiver, answer in answers:
            if isinstance(answer, Exception):
                log.error(
                    "vault: %r failed on version %s",
                    receiver,
                    version.public_id,
                    exc_info=answer,
                )

    transaction.on_commit(send)
