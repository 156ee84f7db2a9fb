"""What search does when the apps announce a change (each sent after the commit)."""

from __future__ import annotations

from search import indexing, tasks


def on_message_changed(sender, message, **kwargs) -> None:
    indexing.message_entry_write(message)


def on_document_changed(sender, document_pk, **kwargs) -> None:
    entry = indexing.document_index(document_pk)
    if entry is None or entry.document.privileged:
        return
    latest = entry.document.latest_version_id
    if latest is not None and entry.extracted_version_id != latest:
        tasks.document_text_schedule(document_pk, latest)


def on_matter_changed(sender, matter_pk, **kwargs) -> None:
    indexing.matter_index(matter_pk)


def on_person_changed(sender, user_pk, **kwargs) -> None:
    indexing.person_index(user_pk)
