"""Reading the text of an uploaded file for search: PDF (pypdf), Word (python-docx), Excel
(openpyxl), PowerPoint (python-pptx) and plain text. The content comes from the vault's own
reading API, decrypted and verified as it streams, into a temporary file that is never
larger than MAX_BYTES; reading stops at MAX_CHARS of text or after MAX_SECONDS. A file that
cannot be read (broken, encrypted, of a kind no reader knows, too large) gives no text and a
line in the log, never an error.
"""

from __future__ import annotations

import logging
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO

from vault import services as vault_services
from vault.models import Version

log = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024
# What the parts of an Office file (a zip) may unpack to: a small file that unpacks to
# gigabytes is not read.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_CHARS = 200_000
MAX_SECONDS = 30.0
SPOOL_IN_MEMORY_BYTES = 1024 * 1024

PDF = "pdf"
DOCX = "docx"
XLSX = "xlsx"
PPTX = "pptx"
TEXT = "text"

_BY_TYPE = {
    "application/pdf": PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": PPTX,
    "text/plain": TEXT,
    "text/markdown": TEXT,
    "text/csv": TEXT,
}
# Office files are zips: a sniffer that only sees "a zip" leaves the name to tell which.
_ZIP_TYPES = {"application/zip", "application/x-zip-compressed"}
_BY_SUFFIX = {".docx": DOCX, ".xlsx": XLSX, ".pptx": PPTX}


class Unreadable(Exception):
    """The file gives no text: why, for the log."""


class Budget:
    """Characters and time left for one file's text."""

    def __init__(self, *, chars: int = MAX_CHARS, seconds: float = MAX_SECONDS):
        self.chars = chars
        self.deadline = time.monotonic() + seconds
        self.parts: list[str] = []

    def add(self, text: str | None) -> bool:
        """Keep ``text``; False once the text or the time is used up (stop reading)."""
        if text:
            text = text.strip()
        if text:
            self.parts.append(text[: self.chars])
            self.chars -= len(self.parts[-1]) + 1
        return self.chars > 0 and time.monotonic() < self.deadline

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def reader_kind(content_type: str, filename: str) -> str | None:
    """Which reader a file needs, by its sniffed type (and its name for a zip), or None."""
    kind = _BY_TYPE.get((content_type or "").split(";")[0].strip().lower())
    if kind is None and content_type in _ZIP_TYPES:
        kind = _BY_SUFFIX.get(PurePosixPath(filename.lower()).suffix)
    return kind


def _pdf(file: IO[bytes], budget: Budget) -> None:
    from pypdf import PdfReader

    reader = PdfReader(file)
    if reader.is_encrypted:
        raise Unreadable("the PDF is encrypted")
    for page in reader.pages:
        if not budget.add(page.extract_text()):
            return


def _unpacked_size_check(file: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise Unreadable("not a valid Office file") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise Unreadable(f"unpacks to {unpacked} bytes")
    file.seek(0)


def _docx(file: IO[bytes], budget: Budget) -> None:
    import docx

    _unpacked_size_check(file)
    document = docx.Document(file)
    for paragraph in document.paragraphs:
        if not budget.add(paragraph.text):
            return
    for table in document.tables:
        for row in table.rows:
            if not budget.add(" ".join(cell.text for cell in row.cells)):
                return


def _xlsx(file: IO[bytes], budget: Budget) -> None:
    import openpyxl

    _unpacked_size_check(file)
    workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            if not budget.add(sheet.title):
                return
            for row in sheet.iter_rows(values_only=True):
                cells = [str(value) for value in row if value is not None]
                if cells and not budget.add(" ".join(cells)):
                    return
    finally:
        workbook.close()


def _pptx(file: IO[bytes], budget: Budget) -> None:
    import pptx

    _unpacked_size_check(file)
    presentation = pptx.Presentation(file)
    for slide in presentation.slides:
        for shape in slide.shapes:
            if shape.has_text_frame and not budget.add(shape.text_frame.text):
                return


def _text(file: IO[bytes], budget: Budget) -> None:
    budget.add(file.read(budget.chars * 4).decode("utf-8", errors="replace"))


READERS: dict[str, Callable[[IO[bytes], Budget], None]] = {
    PDF: _pdf,
    DOCX: _docx,
    XLSX: _xlsx,
    PPTX: _pptx,
    TEXT: _text,
}


def text_from_chunks(chunks: Iterator[bytes], kind: str, *, budget: Budget | None = None) -> str:
    """The text of a file arriving as ``chunks``, read by the reader for ``kind``. Raises
    Unreadable past MAX_BYTES; whatever a reader raises on a broken file goes to the caller."""
    budget = budget or Budget()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_BYTES:
                raise Unreadable(f"larger than {MAX_BYTES} bytes")
            spool.write(chunk)
        spool.seek(0)
        READERS[kind](spool, budget)
    return budget.text


def version_text(version: Version) -> str:
    """The text of a stored version, or "" (logged) if it has none that can be read. The
    caller has made sure the version's document is not privileged."""
    kind = reader_kind(version.content_type, version.filename)
    if kind is None:
        return ""
    if version.size > MAX_BYTES:
        log.info("search: %s is too large to read (%d bytes)", version.public_id, version.size)
        return ""
    try:
        with vault_services.version_content(version=version) as chunks:
            return text_from_chunks(chunks, kind)
    except Unreadable as reason:
        log.info("search: no text read from %s: %s", version.public_id, reason)
    except Exception:
        # Broken files make readers raise anything; a file is skipped, never the worker.
        log.warning("search: reading the text of %s failed", version.public_id, exc_info=True)
    return ""
