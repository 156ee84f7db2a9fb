"""Sealing PDFs with the firm's document-signing certificate (docs/signatures.md, "The
seal"): a PAdES baseline signature over the whole file (B-B; B-T, with an RFC 3161 timestamp
from ``ATRIUM_TSA_URL``, when one is configured), so any PDF reader shows the file unaltered
since it was sealed and by whom.

A signed document is the original's pages followed by the certificate of completion's,
sealed as one file. An encrypted or unreadable PDF raises ``SealError`` saying so."""

from __future__ import annotations

import io
import logging

from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.timestamps.api import TimeStamper
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from approvals.signing.keys import SigningKey

log = logging.getLogger(__name__)

FIELD_NAME = "AtriumSeal"
TSA_TIMEOUT_SECONDS = 10


class SealError(ValueError):
    """The PDF cannot be sealed as given (the message says why)."""


def timestamper() -> TimeStamper | None:
    """The configured timestamp authority (``ATRIUM_TSA_URL``), or None for B-B seals."""
    if not settings.ATRIUM_TSA_URL:
        return None
    return timestamps.HTTPTimeStamper(settings.ATRIUM_TSA_URL, timeout=TSA_TIMEOUT_SECONDS)


def _reader(data: bytes, what: str) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise SealError(f"{what} is encrypted: the portal cannot add pages to it or seal it")
        if len(reader.pages) == 0:
            raise SealError(f"{what} has no pages")
    except SealError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise SealError(f"{what} is not a readable PDF ({error})") from None
    return reader


def appended(original: bytes, certificate: bytes) -> bytes:
    """The original's pages followed by the certificate's, as one PDF (the original's
    document information kept). SealError for an encrypted or unreadable original."""
    first = _reader(original, "the document")
    second = _reader(certificate, "the certificate")
    writer = PdfWriter()
    try:
        writer.append(first)
        writer.append(second, import_outline=False)
        if first.metadata:
            writer.add_metadata(
                {key: value for key, value in first.metadata.items() if isinstance(value, str)}
            )
        buffer = io.BytesIO()
        writer.write(buffer)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise SealError(f"the document is not a readable PDF ({error})") from None
    return buffer.getvalue()


def seal(
    pdf: bytes,
    *,
    key: SigningKey,
    reason: str,
    timestamp: TimeStamper | None = None,
) -> bytes:
    """``pdf`` with a PAdES signature over the whole file, made with ``key``; timestamped
    by ``timestamp`` when given. SealError for an encrypted or unreadable PDF; a timestamp
    authority's failure is raised as it comes (the caller retries later)."""
    _reader(pdf, "the document")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise SealError(f"the document is not a readable PDF ({error})") from None
    if writer.security_handler is not None:
        raise SealError("the document is encrypted: the portal cannot seal it")
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason[:200],
        name=key.subject[:200],
        # A certification signature allowing no change: readers show the file as certified
        # by the firm, and anything done to it afterwards as a breach of that.
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    output = signers.sign_pdf(
        writer,
        metadata,
        signer=key.signer,
        timestamper=timestamp,
        new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME),
    )
    return output.getvalue()
