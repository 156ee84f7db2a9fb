"""Keeping the index in step with the apps: one function per kind reads the item as stored
and writes its row (or removes it), so the same notice twice, or one for an item already
gone, is harmless. ``rebuild`` writes every row again.

What each row holds (``docs/search.md``): a message's text and the names of the files it
shares; a document's title, its versions' file names and, unless it is privileged, its
description and the text read from its newest version (``search.tasks``); a matter's title
and description; a person's name. A privileged document's description and content never
reach the index, for anyone: not even its grantees find it by them.
"""

from __future__ import annotations

import logging
import re

from django.urls import reverse
from django.utils import timezone

from accounts.models import Matter, User
from messaging.models import Message
from search.models import Entry, Kind
from vault.models import Document

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 20_000
# Read text beyond this is left out of the index (a long report is found by its first
# hundred pages or so).
MAX_EXTRACTED_CHARS = 200_000

# Control characters are not text to search, and two of them mark matches in snippets
# (``search.backends.MARK_START``/``MARK_END``): the index never holds any.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str | None, limit: int) -> str:
    return _CONTROL.sub(" ", text or "")[:limit]


_NAME_SEPARATORS = re.compile(r"[\W_]+")


def file_names(names: list[str]) -> list[str]:
    """File names as they are and as words: PostgreSQL's parser reads ``plan-v1.pdf`` as one
    token, so ``plan``, ``v1`` and ``pdf`` are given too."""
    found = []
    for name in names:
        found += [name, _NAME_SEPARATORS.sub(" ", name).strip()]
    return found


def _store(link: str, pk: int, values: dict) -> None:
    """Write the row of the item ``link`` (a field) = ``pk`` in one statement (an upsert)."""
    values = {**values, "updated_at": timezone.now()}
    Entry.objects.bulk_create(
        [Entry(**{f"{link}_id": pk}, **values)],
        update_conflicts=True,
        unique_fields=[link],
        update_fields=list(values),
    )


def message_index(message_pk: int) -> None:
    """Write a message's row from the message as stored (or remove it)."""
    message = Message.objects.select_related("thread").filter(pk=message_pk).first()
    if message is None:
        Entry.objects.filter(message_id=message_pk).delete()
        return
    message_entry_write(message)


def message_entry_write(message: Message) -> None:
    """Write the row of ``message`` as given (its ``thread`` loaded): one statement, on the
    path of every send."""
    if message.deleted_at is not None:
        Entry.objects.filter(message_id=message.pk).delete()
        return
    thread = message.thread
    files = [str(a.get("filename") or a.get("title") or "") for a in message.attachments or []]
    _store(
        "message",
        message.pk,
        {
            "kind": Kind.MESSAGE,
            "public_id": message.public_id,
            "account_id": thread.account_id,
            "thread_id": thread.pk,
            "title": "",
            "body": clean("\n".join([message.body, *file_names(files)]), MAX_BODY_CHARS),
            "label": clean(thread.title, MAX_TITLE_CHARS),
            "url": reverse("frontend:thread", args=[thread.public_id]) + f"#seq-{message.seq}",
        },
    )


def document_index(document_pk: int) -> Entry | None:
    """Write the document's row. Returns it, or None if the document is gone. Reading the
    newest version's text is ``search.tasks``' job; a row whose text is from an older
    version keeps it until then. A privileged document's row is emptied of any."""
    document = Document.objects.filter(pk=document_pk).first()
    if document is None:
        Entry.objects.filter(document_id=document_pk).delete()
        return None
    filenames = file_names(
        list(
            dict.fromkeys(document.versions.order_by("-number").values_list("filename", flat=True))
        )
    )
    body = "\n".join(filenames if document.privileged else [*filenames, document.description])
    values = {
        "kind": Kind.DOCUMENT,
        "public_id": document.public_id,
        "account_id": document.account_id,
        "title": clean(document.title, MAX_TITLE_CHARS),
        "body": clean(body, MAX_BODY_CHARS),
        "label": "",
        "url": reverse("frontend:document", args=[document.public_id]),
    }
    if document.privileged:
        values.update(extracted="", extracted_version=None)
    _store("document", document.pk, values)
    return Entry.objects.select_related("document").get(document_id=document.pk)


def document_text_store(document_pk: int, version_pk: int, text: str) -> bool:
    """Put text read from a version into the document's row, if the document is not
    privileged and that version is still its newest; returns whether it was stored."""
    stored = Entry.objects.filter(
        document_id=document_pk,
        document__privileged=False,
        document__latest_version_id=version_pk,
    ).update(
        extracted=clean(text, MAX_EXTRACTED_CHARS),
        extracted_version_id=version_pk,
        updated_at=timezone.now(),
    )
    return bool(stored)


def matter_index(matter_pk: int) -> None:
    matter = Matter.objects.filter(pk=matter_pk).first()
    if matter is None:
        Entry.objects.filter(matter_id=matter_pk).delete()
        return
    _store(
        "matter",
        matter.pk,
        {
            "kind": Kind.MATTER,
            "public_id": matter.public_id,
            "account_id": matter.account_id,
            "title": clean(matter.title, MAX_TITLE_CHARS),
            "body": clean(matter.description, MAX_BODY_CHARS),
            "label": "",
            "url": reverse("frontend:matter", args=[matter.public_id]),
        },
    )


def person_index(user_pk: int) -> None:
    person = User.objects.filter(pk=user_pk).first()
    if person is None or not person.is_active:
        Entry.objects.filter(person_id=user_pk).delete()
        return
    _store(
        "person",
        person.pk,
        {
            "kind": Kind.PERSON,
            "public_id": person.public_id,
            "account_id": None,
            "title": clean(person.name, MAX_TITLE_CHARS),
            "body": "",
            "label": "",
            # Where a person leads depends on who searches (an account both see):
            # ``search.selectors`` works it out.
            "url": "",
        },
    )


def rebuild(*, read_text: bool = True, batch: int = 500, report=None) -> dict[str, int]:
    """Write every row again from the apps' data and remove the rows of items that are gone.
    Text already read from a document's newest version is kept; with ``read_text``, the text
    of the others is queued for reading (``search.tasks``). Returns counts by kind."""
    from search import tasks

    counts: dict[str, int] = {}
    sources = [
        (Kind.PERSON, User.objects.filter(is_active=True), person_index, "person_id"),
        (Kind.MATTER, Matter.objects.all(), matter_index, "matter_id"),
        (Kind.DOCUMENT, Document.objects.all(), document_index, "document_id"),
        (
            Kind.MESSAGE,
            Message.objects.filter(deleted_at__isnull=True),
            message_index,
            "message_id",
        ),
    ]
    for kind, queryset, index, link in sources:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch):
            for pk in pks[start : start + batch]:
                index(pk)
        Entry.objects.filter(kind=kind).exclude(**{f"{link}__in": queryset.values("pk")}).delete()
        counts[kind] = len(pks)
        if report is not None:
            report(kind, len(pks))
    if read_text:
        stale = (
            Entry.objects.filter(kind=Kind.DOCUMENT, document__privileged=False)
            .exclude(document__latest_version__isnull=True)
            .values_list("document_id", "document__latest_version_id", "extracted_version_id")
        )
        for document_pk, latest, extracted in stale:
            if latest != extracted:
                tasks.document_text_schedule(document_pk, latest)
    return counts
