"""Reading the text of uploaded files: real files made here, each kind, and the bounds."""

from __future__ import annotations

import io
import zipfile

import pytest

from search import extraction
from search.extraction import Budget, Unreadable, reader_kind, text_from_chunks
from tests.search.helpers import docx_bytes, pdf_bytes


def chunks(data: bytes, size: int = 1000):
    return (data[i : i + size] for i in range(0, len(data), size))


def test_the_text_of_a_pdf():
    text = text_from_chunks(chunks(pdf_bytes("Heads of terms", "Closing in March")), "pdf")
    assert "Heads of terms" in text and "Closing in March" in text


def test_the_text_of_a_word_document():
    text = text_from_chunks(chunks(docx_bytes("First paragraph", "Second one")), "docx")
    assert text == "First paragraph\nSecond one"


def test_the_text_of_a_workbook_and_a_presentation():
    import openpyxl
    import pptx

    workbook = openpyxl.Workbook()
    workbook.active.title = "Budget"
    workbook.active.append(["Item", "Cost"])
    workbook.active.append(["Hosting", 1200])
    out = io.BytesIO()
    workbook.save(out)
    assert text_from_chunks(chunks(out.getvalue()), "xlsx") == "Budget\nItem Cost\nHosting 1200"

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    out = io.BytesIO()
    deck.save(out)
    assert "Roadmap" in text_from_chunks(chunks(out.getvalue()), "pptx")


def test_an_encrypted_pdf_is_not_read():
    with pytest.raises(Unreadable, match="encrypted"):
        text_from_chunks(chunks(pdf_bytes("secret", encrypt="pw")), "pdf")


def test_an_office_file_that_unpacks_too_far_is_not_read(monkeypatch):
    monkeypatch.setattr(extraction, "MAX_UNPACKED_BYTES", 10_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 1_000_000)
    with pytest.raises(Unreadable, match="unpacks"):
        text_from_chunks(chunks(out.getvalue()), "docx")


def test_a_file_past_the_size_bound_is_not_read(monkeypatch):
    monkeypatch.setattr(extraction, "MAX_BYTES", 5000)
    with pytest.raises(Unreadable, match="larger"):
        text_from_chunks(chunks(b"word " * 2000), "text")


def test_reading_stops_at_the_text_and_time_bounds():
    many = [f"Paragraph {n}" for n in range(500)]
    text = text_from_chunks(chunks(docx_bytes(*many)), "docx", budget=Budget(chars=100))
    assert len(text) <= 100 and text.startswith("Paragraph 0")
    text = text_from_chunks(chunks(docx_bytes(*many)), "docx", budget=Budget(seconds=-1))
    assert text == "Paragraph 0"


@pytest.mark.parametrize(
    ("content_type", "filename", "kind"),
    [
        ("application/pdf", "a.pdf", "pdf"),
        ("application/zip", "a.docx", "docx"),
        ("application/zip", "a.zip", None),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "a.bin",
            "xlsx",
        ),
        ("text/markdown", "notes.md", "text"),
        ("image/png", "a.png", None),
    ],
)
def test_the_reader_is_chosen_by_the_sniffed_type(content_type, filename, kind):
    assert reader_kind(content_type, filename) == kind
