"""What the vault does when something changes in accounts."""

from __future__ import annotations

from accounts import permissions
from vault.models import Document


def follow_matter_access(sender, matter, user, granted, **kwargs) -> None:
    """The privileged documents of a privileged matter are open to exactly its grantees."""
    for document in Document.objects.filter(matter=matter, privileged=True):
        if granted:
            permissions.privileged_grant(document, user)
        else:
            permissions.privileged_revoke(document, user)
