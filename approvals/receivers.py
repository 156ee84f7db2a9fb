"""What approvals does when something changes in the vault."""

from __future__ import annotations

from approvals import services

# A request's address reaches the vault only through a session, and sessions are opened by
# the sign-in form, with a password (see ``approvals.api``).
SESSION_SIGN_IN = "password"


def reopen_on_new_version(sender, document, version, actor, meta, **kwargs) -> None:
    """A new version of a document under a live request starts the request's next round.
    Sent after the upload committed: a failure here is logged by the vault, and the upload
    stands."""
    if meta is not None:
        meta = {**meta, "authentication": meta.get("authentication", SESSION_SIGN_IN)}
    services.approvals_on_new_version(document=document, version=version, actor=actor, meta=meta)
