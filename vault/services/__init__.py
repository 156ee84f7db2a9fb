"""Every write of the vault, with its rules, split by subdomain: lookups, folders,
documents and versions, grants on privileged documents, and the access log with
downloads. Permission questions go to ``accounts.permissions``; missing and forbidden both
raise ``NotFound``. Callers use the names re-exported here."""

from vault.services.access import (
    PREVIEW_TYPES,
    READ_BYTES,
    Download,
    download_open,
    preview_open,
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
    version_add_check,
)
from vault.services.folders import (
    MAX_FOLDER_CHARS,
    SHARED_FOLDER_NAME,
    folder_create,
    shared_folder,
)
from vault.services.generated import folder_named, generated_discard, generated_document_add
from vault.services.grants import document_grant, document_revoke
from vault.services.lookups import document_for, folder_in, matter_in, version_for
from vault.services.stored import storage
from vault.services.thumbnails import THUMBNAIL_TYPE, thumbnail_read

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_FOLDER_CHARS",
    "MAX_TITLE_CHARS",
    "PREVIEW_TYPES",
    "READ_BYTES",
    "SHARED_FOLDER_NAME",
    "THUMBNAIL_TYPE",
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
    "folder_named",
    "generated_discard",
    "generated_document_add",
    "matter_in",
    "preview_open",
    "record_view",
    "shared_folder",
    "storage",
    "thumbnail_read",
    "version_add",
    "version_add_check",
    "version_content",
    "version_for",
]
