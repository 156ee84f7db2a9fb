"""A proposal's evidence bundle (``evidence.bundles.bundle_export``): its ledger entries
(sent, viewed, accepted or declined, withdrawn) with their proofs and a signed checkpoint,
and the documents they are about: the proposal's content as sent (the canonical JSON whose
SHA-256 every entry carries, ``proposal_content_bytes``) and the scope document's bound
version."""

from __future__ import annotations

from billing.content import proposal_content
from billing.models import Proposal
from evidence.bundles import bundle_export
from evidence.verify import canonical_json


def proposal_content_bytes(proposal: Proposal) -> bytes:
    """The bytes ``content_sha256`` is the SHA-256 of (canonical JSON). Precondition: sent."""
    return canonical_json(proposal_content(proposal, proposal.lines.all()))


def proposal_documents(proposal: Proposal) -> list[dict]:
    documents = []
    if proposal.content_sha256:
        content = proposal_content_bytes(proposal)
        documents.append(
            {
                "version": proposal.public_id,
                "title": proposal.title,
                "filename": f"{proposal.public_id}.json",
                "size": len(content),
                "sha256": proposal.content_sha256,
            }
        )
    version = proposal.scope_version
    if version is not None:
        documents.append(
            {
                "version": version.public_id,
                "title": proposal.document.title if proposal.document_id else version.filename,
                "filename": version.filename,
                "size": version.size,
                "sha256": version.sha256,
            }
        )
    return documents


def proposal_bundle(*, proposal: Proposal) -> dict:
    """Precondition: the caller may see the proposal (``proposal_for``). ValueError for a
    draft (nothing about it is on the ledger)."""
    return bundle_export(
        subject=proposal.public_id,
        title=f"Proposal {proposal.title}",
        documents=proposal_documents(proposal),
    )
