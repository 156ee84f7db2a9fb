"""Making a completed request's certificate of completion and sealed PDF, after the commit
that completed it. ``seal_soon`` is what the signing services call on commit: it seals at
once, and when that fails (a timestamp authority out of reach, a storage error) it records
why and leaves a task to try again, so a signature never fails for want of its seal."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def signature_seal(request_id: int) -> None:
    """Make and store the certificate of completion and, for a PDF, the sealed PDF of the
    completed request with primary key ``request_id``; once only (a sealed request is left
    alone). Raises on failure, having written nothing."""
    raise NotImplementedError("sealing is not built yet")


def seal_soon(request_id: int) -> None:
    """Seal now; on failure log it, keep the reason on the request and retry in a task."""
    try:
        signature_seal(request_id)
    except Exception as error:  # any failure is retried, never lost
        log.exception("sealing signature request %s failed; a task will retry", request_id)
        from approvals.models import SignatureRequest

        SignatureRequest.objects.filter(pk=request_id).update(seal_error=str(error)[:500])
