"""The search index: one row per thing that can be found, with the text it is found by.

Rows are copies, kept in step by ``search.indexing`` when the apps announce a change, and
rebuilt whole by ``manage.py search_rebuild``. The full-text structure over ``title``,
``body`` and ``extracted`` is the database's own (``search.backends``): a generated
``tsvector`` column with a GIN index on PostgreSQL, an FTS5 table on SQLite, both made by the
migrations. Who may see a row is never stored here: it is asked of ``accounts.permissions``
at every search, through the item each row points to (which also deletes the row with it).

A privileged document's row holds its title and file names only: ``body`` gets no
description, ``extracted`` stays empty (``search.indexing``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import ClientAccount, Matter
from messaging.models import Message, Thread
from vault.models import Document, Version


class Kind(models.TextChoices):
    MESSAGE = "message", "Message"
    DOCUMENT = "document", "Document"
    MATTER = "matter", "Matter"
    PERSON = "person", "Person"


class Entry(models.Model):
    kind = models.CharField(max_length=10, choices=Kind.choices)
    public_id = models.CharField(max_length=40)
    account = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # What the row is about (exactly one, as ``kind`` says); the thread is a message's.
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    matter = models.OneToOneField(
        Matter, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    # Found by, most telling first.
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    extracted = models.TextField(blank=True)
    # The version whose text is in ``extracted`` (never a privileged document's).
    extracted_version = models.ForeignKey(
        Version, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Shown, not searched: a message's thread title, and where the result leads.
    label = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=300)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(
                name="search_entry_one_subject",
                condition=(
                    models.Q(
                        kind="message",
                        message__isnull=False,
                        thread__isnull=False,
                        document__isnull=True,
                        matter__isnull=True,
                        person__isnull=True,
                    )
                    | models.Q(
                        kind="document",
                        document__isnull=False,
                        message__isnull=True,
                        matter__isnull=True,
                        person__isnull=True,
                    )
                    | models.Q(
                        kind="matter",
                        matter__isnull=False,
                        message__isnull=True,
                        document__isnull=True,
                        person__isnull=True,
                    )
                    | models.Q(
                        kind="person",
                        person__isnull=False,
                        message__isnull=True,
                        document__isnull=True,
                        matter__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"
