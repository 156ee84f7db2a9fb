"""Whose turn it is in a signature request (docs/signatures.md, "Requests and order").

Approvers come first: every one of them approves before any signer is asked. Within a role,
``parallel`` asks everyone at once and ``sequential`` asks one after another in position
order. The rule reads only the participants' statuses, so it is the same when a request is
made and after every step.
"""

from __future__ import annotations

from approvals.models import SignatureOrder, Signer, SignerRole, SignerStatus


def _phase(rows: list[Signer], role: str, order: str) -> list[Signer]:
    """Ask the next of ``role``: all of them in parallel, the first
    waiting one in sequence when nobody of the role is asked. Returns those newly asked;
    they are changed in memory only."""
    of_role = sorted((r for r in rows if r.role == role), key=lambda r: r.position)
    if (
        any(r.status == SignerStatus.PENDING for r in of_role)
        and order == SignatureOrder.SEQUENTIAL
    ):
        return []
    waiting = [r for r in of_role if r.status == SignerStatus.WAITING]
    if order == SignatureOrder.SEQUENTIAL:
        waiting = waiting[:1]
    for row in waiting:
        row.status = SignerStatus.PENDING
    return waiting


def advance(rows: list[Signer], order: str) -> list[Signer]:
    """Move the turn on after a step: the approvers' phase until every approver has
    approved, then the signers'. Returns the rows newly asked (their status changed in
    memory; the caller saves them)."""
    approvers = [r for r in rows if r.role == SignerRole.APPROVER]
    if any(r.status != SignerStatus.APPROVED for r in approvers):
        return _phase(rows, SignerRole.APPROVER, order)
    return _phase(rows, SignerRole.SIGNER, order)


def all_signed(rows: list[Signer]) -> bool:
    return all(r.status == SignerStatus.SIGNED for r in rows if r.role == SignerRole.SIGNER)


def initial_status(role: str) -> str:
    return SignerStatus.VIEWER if role == SignerRole.VIEWER else SignerStatus.WAITING
