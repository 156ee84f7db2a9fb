"""The public check of a file someone holds (docs/signatures.md, "Checking a document"): a
PDF sealed by the portal, or an evidence bundle. Nothing is stored; the answer says what the
file proves, or the first reason it does not.

A PDF is checked with pyHanko against the firm's signing certificate alone (its chain, if it
was issued by a CA of the firm's): the seal must be intact, cover the whole file and be the
firm's. Its SHA-256 is then looked up in the ledger's ``signature.sealed`` entry of the
request its seal names (the portal writes the request's id into the seal's reason), which says
whether these are the bytes of that request's signed document or of its certificate. A bundle
is checked by ``evidence.verify.verify_bundle`` against the firm's ledger key."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from approvals import signature_events
from approvals.signing.keys import signing_key
from evidence.keys import public_key_bytes
from evidence.ledger import parse_at
from evidence.models import Entry
from evidence.verify import VerificationError, load_bundle, verify_bundle

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"


class CheckError(ValueError):
    """The file is neither a PDF nor an evidence bundle, or cannot be read as one."""


@dataclass(frozen=True)
class Sealed:
    """What the ledger says about a file sealed by the portal: ``what`` it is of the
    request (``signed``: the signed document, ``certificate``: its certificate of
    completion)."""

    request: str
    title: str
    what: str
    sealed_at: datetime
    completed_at: datetime | None
    index: int


@dataclass
class PdfCheck:
    sha256: str
    verified: bool = False
    problems: list[str] = field(default_factory=list)
    signatures: int = 0
    intact: bool = False
    whole_file: bool = False
    ours: bool = False
    signer: str = ""
    signer_sha256: str = ""
    signed_at: datetime | None = None
    timestamp_at: datetime | None = None
    timestamp_by: str = ""
    timestamp_intact: bool | None = None
    sealed: Sealed | None = None

    kind = "pdf"


@dataclass
class BundleCheck:
    verified: bool
    lines: list[str]
    problem: str = ""
    subject: str = ""

    kind = "bundle"


REQUEST_ID = re.compile(r"\bsig_[a-z0-9]{8,40}\b")


def _request_named(embedded) -> str | None:
    """The signature request a seal's reason names (the portal writes it there); the last
    one, should the firm's name hold something like it."""
    reason = embedded.sig_object.get("/Reason")
    found = REQUEST_ID.findall(str(reason)) if reason is not None else []
    return found[-1] if found else None


def _sealed(sha256: str, subject: str | None) -> Sealed | None:
    """The ``signature.sealed`` entry of request ``subject`` that names these bytes (its
    ``content_sha256``, or its certificate's SHA-256), with the request's completion time.
    One query on the ledger's (subject, index) index, whatever the ledger's size."""
    if subject is None:
        return None
    rows = {
        kind: (index, json.loads(canonical))
        for index, kind, canonical in Entry.objects.filter(
            subject=subject,
            kind__in=[signature_events.LEDGER_SEALED, signature_events.LEDGER_COMPLETED],
        )
        .order_by("-index")
        .values_list("index", "kind", "canonical")
    }
    if signature_events.LEDGER_SEALED not in rows:
        return None
    index, entry = rows[signature_events.LEDGER_SEALED]
    payload = entry["payload"]
    signed, certificate = payload.get("signed"), payload.get("certificate")
    if signed and entry["content_sha256"] == sha256 and signed["sha256"] == sha256:
        what = "signed"
    elif certificate and certificate["sha256"] == sha256:
        what = "certificate"
    else:
        return None
    completed = rows.get(signature_events.LEDGER_COMPLETED)
    return Sealed(
        request=payload["request"]["id"],
        title=payload["request"]["title"],
        what=what,
        sealed_at=parse_at(entry["at"]),
        completed_at=parse_at(completed[1]["at"]) if completed else None,
        index=index,
    )


def pdf_check(data: bytes) -> PdfCheck:
    """Check a sealed PDF. Never raises for a bad file: ``verified`` is False and
    ``problems`` says why. ImproperlyConfigured when signing is off (nothing to check
    against)."""
    key = signing_key()
    result = PdfCheck(sha256=hashlib.sha256(data).hexdigest())
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            result.problems.append("The PDF is encrypted: it is not one the portal sealed.")
            return result
        signatures = reader.embedded_signatures
    except Exception as error:  # any damage reads as "not a readable PDF"
        log.info("check: unreadable PDF: %s", error)
        result.problems.append("The file is not a readable PDF.")
        return result
    result.signatures = len(signatures)
    if not signatures:
        result.problems.append("The PDF carries no seal or signature.")
        return result
    # The last signature is the one that must cover the whole file.
    embedded = signatures[-1]
    result.sealed = _sealed(result.sha256, _request_named(embedded))
    context = ValidationContext(trust_roots=key.trust_roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(embedded, context)
    except Exception as error:  # a damaged signature is a failed check
        log.info("check: the signature cannot be validated: %s", error)
        result.problems.append("The seal is damaged: it cannot be read or checked.")
        return result
    certificate = status.signing_cert
    result.signer = certificate.subject.human_friendly
    result.signer_sha256 = certificate.sha256.hex()
    result.ours = bool(status.trusted)
    result.intact = bool(status.intact and status.valid)
    result.whole_file = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    result.signed_at = status.signer_reported_dt
    stamp = status.timestamp_validity
    if stamp is not None:
        result.timestamp_at = stamp.timestamp
        result.timestamp_by = stamp.signing_cert.subject.human_friendly
        result.timestamp_intact = bool(stamp.intact and stamp.valid)
    if not result.intact:
        result.problems.append("The file was changed after it was sealed.")
    if not result.whole_file:
        result.problems.append("The seal does not cover the whole file: something was added.")
    if not result.ours:
        result.problems.append("The seal is not made with this portal's signing certificate.")
    if result.timestamp_intact is False:
        result.problems.append("The seal's timestamp is damaged.")
    result.verified = not result.problems
    return result


def bundle_check(data: bytes) -> BundleCheck:
    """Check an evidence bundle against the firm's ledger key; never raises for a bad
    bundle."""
    try:
        bundle = load_bundle(data)
        report = verify_bundle(bundle, public_key_bytes())
    except VerificationError as error:
        return BundleCheck(verified=False, lines=[], problem=str(error))
    except RecursionError:
        return BundleCheck(verified=False, lines=[], problem="The bundle nests values too deeply.")
    return BundleCheck(verified=True, lines=report.lines(), subject=report.bundle["subject"])


def check_file(data: bytes) -> PdfCheck | BundleCheck:
    """A PDF or a bundle, told apart by their first bytes. CheckError for anything else."""
    if PDF_MAGIC in data[:1024]:
        return pdf_check(data)
    if data.lstrip()[:1] == b"{":
        return bundle_check(data)
    raise CheckError("This is neither a PDF nor an evidence bundle (a .json file).")
