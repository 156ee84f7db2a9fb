"""Every write of the vault, with its rules, split by subdomain: lookups, folders,
documents and versions, grants on privileged documents, and the access log with
downloads. Permission questions go to ``accounts.permissions``; missing and forbidden both
raise ``NotFound``. Callers use the names re-exported here."""

from vault.services.access import (
    READ_BYTES,
    Download,
    download_open,
    record_view,
    version_content,
)
from vault.services.documents import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    Added,
    Placement,
    checked_text,
    document_create,
    document_placement,
    version_add,
)
from vault.services.folders import MAX_FOLDER_CHARS, folder_create
from vault.services.grants import document_grant, document_revoke
from vault.services.lookups import document_for, folder_in, matter_in, version_for
from vault.services.stored import storage

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_FOLDER_CHARS",
    "MAX_TITLE_CHARS",
    "READ_BYTES",
    "Added",
    "Download",
    "Placement",
    "checked_text",
    "document_create",
    "document_for",
    "document_grant",
    "document_placement",
    "document_revoke",
    "download_open",
    "folder_create",
    "folder_in",
    "matter_in",
    "record_view",
    "storage",
    "version_add",
    "version_content",
    "version_for",
]
