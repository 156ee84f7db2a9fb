"""Helpers for search tests: real PDF and Word files, messages and documents added through
the services, and the search tasks run as the worker runs them."""

from __future__ import annotations

import io
import uuid

from django_tasks_db.models import DBTaskResult

from accounts.models import ClientAccount, Matter, User
from messaging import services as messaging_services
from messaging.models import Thread
from tests.vault.helpers import sealed_upload
from vault import services as vault_services
from vault.models import Document

# Who finds what in the world of conftest.py, by role.
SEES_ACME = {"firm_admin", "staff_on_team", "client_admin", "client_member"}
GRANTED = {"staff_on_team", "client_admin"}

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def pdf_bytes(*lines: str, encrypt: str | None = None) -> bytes:
    """A real one-page PDF with ``lines`` of text, built with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    text = " ".join(f"({line.replace('(', '').replace(')', '')}) Tj 0 -16 Td" for line in lines)
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td {text} ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    if encrypt is not None:
        writer.encrypt(encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(*paragraphs: str) -> bytes:
    """A real Word document with ``paragraphs``, built with python-docx."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def run_search_tasks() -> int:
    """Run the search tasks queued, as ``manage.py db_worker`` would; returns how many."""
    queued = list(
        DBTaskResult.objects.filter(task_path__startswith="search.tasks.")
        .ready()
        .order_by("enqueued_at")
    )
    for row in queued:
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.delete()
    return len(queued)


def send(actor: User, thread: Thread, body: str) -> str:
    return messaging_services.message_send(
        actor=actor, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    ).message_id


def add_document(
    actor: User,
    account: ClientAccount,
    data: bytes,
    filename: str,
    *,
    title: str = "",
    description: str = "",
    privileged: bool | None = None,
    matter: Matter | None = None,
) -> Document:
    return vault_services.document_create(
        actor=actor,
        account=account,
        upload=sealed_upload(data, filename),
        title=title,
        description=description,
        privileged=privileged,
        matter_id=matter.public_id if matter else None,
    ).document
