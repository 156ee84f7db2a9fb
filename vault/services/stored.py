"""Where the vault's sealed objects live: the ``vault`` storage, object names that give
nothing away, and removing an object that never got its record."""

from __future__ import annotations

import logging
import secrets

from django.core.files.storage import storages

from vault.uploads import SealedUpload

# One logger for the whole package: log settings and record filters name ``vault.services``.
log = logging.getLogger("vault.services")


def storage():
    return storages["vault"]


def _object_name() -> str:
    """A random object name: nothing about the file, its owner or its name shows in it."""
    token = secrets.token_hex(20)
    return f"v1/{token[:2]}/{token[2:4]}/{token}"


def store(upload: SealedUpload) -> str:
    """Save the sealed upload under a fresh object name; returns the name it was saved as."""
    name = storage().save(_object_name(), upload)
    return name


def discard_stored(name: str) -> None:
    try:
        storage().delete(name)
    except Exception:  # the record never existed; an orphan is logged, not fatal
        log.exception("vault: could not remove the unrecorded object %s", name)
