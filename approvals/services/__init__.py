"""Every write of approvals, with its rules: asking, deciding, the receipts of what was shown,
withdrawing, the new round a new version starts, and due dates. Permission questions go to
``accounts.permissions``; missing and not visible both raise ``NotFound``. Callers use the
names re-exported here."""

from approvals.services.bundles import approval_bundle, approval_documents
from approvals.services.decisions import approval_decide, approval_download, approval_viewed
from approvals.services.due import approvals_due_run
from approvals.services.lookups import approval_for, decide_check, withdraw_check
from approvals.services.requests import (
    Reopened,
    approval_create,
    approval_reopen,
    approval_withdraw,
    approvals_on_new_version,
)
from approvals.services.signature_acts import signature_approve, signature_sign
from approvals.services.signature_due import signatures_due_run
from approvals.services.signatures import (
    signature_artifact,
    signature_bundle,
    signature_create,
    signature_decline,
    signature_document,
    signature_for,
    signature_viewed,
    signature_void,
)

__all__ = [
    "Reopened",
    "approval_bundle",
    "approval_create",
    "approval_decide",
    "approval_documents",
    "approval_download",
    "approval_for",
    "approval_reopen",
    "approval_viewed",
    "approval_withdraw",
    "approvals_due_run",
    "approvals_on_new_version",
    "decide_check",
    "signature_approve",
    "signature_artifact",
    "signature_bundle",
    "signature_create",
    "signature_decline",
    "signature_document",
    "signature_for",
    "signature_sign",
    "signature_viewed",
    "signature_void",
    "signatures_due_run",
    "withdraw_check",
]
