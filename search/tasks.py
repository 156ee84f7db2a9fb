"""Background work of search (run by ``manage.py db_worker``)."""

from __future__ import annotations

import logging

from django_tasks import task

from search import extraction, indexing
from vault.models import Version

log = logging.getLogger(__name__)


@task()
def document_text_read(document_pk: int, version_pk: int) -> bool:
    """Read the text of a document's version into its index row. Nothing is read for a
    privileged document, nor for a version that is no longer the newest (the newer one's
    own task reads it). Returns whether text was stored."""
    version = (
        Version.objects.select_related("document__account")
        .filter(pk=version_pk, document_id=document_pk)
        .first()
    )
    if version is None:
        return False
    document = version.document
    if document.privileged or document.latest_version_id != version.pk:
        return False
    text = extraction.version_text(version)
    return indexing.document_text_store(document_pk, version_pk, text)


def document_text_schedule(document_pk: int, version_pk: int) -> None:
    try:
        document_text_read.enqueue(document_pk, version_pk)
    except Exception:
        # Search still finds the document by its title and file names; a rebuild reads it.
        log.exception("queueing the text of document %s failed", document_pk)
