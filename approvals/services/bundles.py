"""The evidence bundle of a request: its ledger entries with their proofs and a signed
checkpoint (``evidence.bundles.bundle_export``), with the documents of every round by title,
file name, size and SHA-256."""

from __future__ import annotations

from approvals import selectors
from approvals.models import ApprovalRequest
from evidence.bundles import bundle_export


def approval_documents(request: ApprovalRequest) -> list[dict]:
    """Every version the request was ever about, once each, in the order they were bound."""
    seen: dict[int, dict] = {}
    for row in selectors.bound_versions(request):
        version = row.version
        seen.setdefault(
            version.pk,
            {
                "version": version.public_id,
                "title": version.document.title,
                "filename": version.filename,
                "size": version.size,
                "sha256": version.sha256,
            },
        )
    return list(seen.values())


def approval_bundle(*, request: ApprovalRequest) -> dict:
    """Precondition: the caller may see the request (``approval_for``)."""
    return bundle_export(
        subject=request.public_id,
        title=f"Approval of {request.title}",
        documents=approval_documents(request),
    )
