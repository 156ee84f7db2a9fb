"""Signals other apps listen to, so that approvals never imports them."""

from __future__ import annotations

from django.dispatch import Signal

# An approval request closed: approved, rejected, sent back for changes, withdrawn or
# expired. Sent once the closing transaction has committed (``accounts.signals.send_on_commit``),
# never for a rolled-back one; receivers read the request again. Arguments: approval_pk,
# status (the request's new status).
approval_closed = Signal()
