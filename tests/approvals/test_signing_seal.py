"""Sealing a completed signature request (docs/signatures.md, "The seal"): the certificate
of completion and, for a PDF, the signed PDF are made, PAdES-sealed with the firm's
certificate and stored in the vault once, with one ledger entry and one thread event."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django_tasks_db.models import DBTaskResult
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import DummyTimeStamper
from pypdf import PdfReader, PdfWriter

from accounts import permissions
from approvals.models import SignatureRequest
from approvals.signing import completion, keys
from approvals.signing.tasks import signature_seal_retry
from evidence.bundles import bundle_export
from evidence.keys import public_key_bytes
from evidence.models import Entry
from evidence.verify import VerificationError, verify_bundle
from messaging.models import Event
from tests.approvals import sealing
from vault.models import Document, Version


@pytest.fixture
def done(acme, people):
    return sealing.completed_request(
        acme,
        staff=people["staff_on_team"],
        signer_user=people["client_admin"],
        approver_user=people["client_member"],
    )


def stored_counts() -> dict:
    return {
        "documents": Document.objects.count(),
        "versions": Version.objects.count(),
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
    }


def sealed_entry(request) -> dict:
    [canonical] = Entry.objects.filter(
        subject=request.public_id, kind="signature.sealed"
    ).values_list("canonical", flat=True)
    return json.loads(canonical)


def test_a_pdf_is_sealed_whole_with_its_certificate_pages_appended(done):
    completion.signature_seal(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    assert request.sealed_at is not None and request.seal_error == ""
    signed = sealing.read_back(request.signed)
    status = sealing.validation(signed)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.signing_cert.sha256 == keys.signing_key().certificate.sha256
    assert status.timestamp_validity is None  # no TSA configured: PAdES B-B
    # A certification (DocMDP) signature allowing no change after it.
    [embedded] = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert embedded.docmdp_level == MDPPerm.NO_CHANGES
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    original = PdfReader(io.BytesIO(sealing.read_back(done.version))).pages
    pages = PdfReader(io.BytesIO(signed)).pages
    assert len(pages) > len(original)
    assert "Certificate of completion" in pages[len(original)].extract_text()
    assert "Certificate of completion" not in pages[len(original) - 1].extract_text()
    # The certificate of completion is sealed on its own too.
    certificate = sealing.read_back(request.certificate)
    assert sealing.validation(certificate).bottom_line
    assert request.signed.document.folder.name == "Signed documents"
    assert request.certificate.document.folder.name == "Signed documents"
    assert request.signed.content_type == "application/pdf"


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_one_changed_byte_breaks_the_seal(done, where):
    completion.signature_seal(done.request.pk)
    signed = bytearray(sealing.read_back(SignatureRequest.objects.get(pk=done.request.pk).signed))
    status = sealing.validation(bytes(signed))
    assert status.bottom_line
    # A byte of the signed content (not of the signature's own hex digits).
    start, length, _, _ = _byte_range(bytes(signed))
    position = start + int(length * where)
    signed[position] = (signed[position] + 1) % 256
    tampered = sealing.validation(bytes(signed))
    assert not tampered.intact
    assert not tampered.bottom_line


def _byte_range(data: bytes) -> list[int]:
    marker = data.rindex(b"/ByteRange")
    inside = data[data.index(b"[", marker) + 1 : data.index(b"]", marker)]
    return [int(part) for part in inside.split()]


def test_the_ledger_entry_and_the_thread_event_say_what_was_sealed(done):
    before = Event.objects.filter(thread=done.request.thread).count()
    completion.signature_seal(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    entry = sealed_entry(request)
    key = keys.signing_key()
    certificate, signed = request.certificate, request.signed
    assert entry["actor"] is None
    assert entry["content_sha256"] == signed.sha256 == sealing.sha256(sealing.read_back(signed))
    assert entry["payload"] == {
        "request": {
            "id": request.public_id,
            "title": "Engagement letter",
            "account": {"id": request.account.public_id, "name": "Acme"},
            "thread": request.thread.public_id,
            "order": "sequential",
            "status": "completed",
        },
        "certificate": {
            "version": certificate.public_id,
            "title": "Certificate of completion: Engagement letter",
            "filename": "engagement-certificate-of-completion.pdf",
            "size": certificate.size,
            "sha256": certificate.sha256,
        },
        "signed": {
            "version": signed.public_id,
            "title": "Engagement letter (signed)",
            "filename": "engagement-signed.pdf",
            "size": signed.size,
            "sha256": signed.sha256,
        },
        "seal": {"subject": key.subject, "certificate_sha256": key.sha256, "timestamped": False},
    }
    events = list(Event.objects.filter(thread=request.thread).order_by("seq"))
    assert len(events) == before + 1
    frame = json.loads(events[-1].frame)
    assert frame["type"] == "signature.sealed"
    assert frame["certificate"] == certificate.public_id
    assert frame["signed"] == signed.public_id
    assert frame["signature"]["id"] == request.public_id
    assert frame["signature"]["certificate"] == certificate.public_id
    assert frame["signature"]["sealed_at"] is not None


def test_sealing_twice_stores_nothing_more(done):
    completion.signature_seal(done.request.pk)
    first = SignatureRequest.objects.get(pk=done.request.pk)
    counts = stored_counts()
    completion.signature_seal(done.request.pk)
    completion.seal_soon(done.request.pk)
    again = SignatureRequest.objects.get(pk=done.request.pk)
    assert stored_counts() == counts
    assert (again.certificate_id, again.signed_id, again.sealed_at) == (
        first.certificate_id,
        first.signed_id,
        first.sealed_at,
    )
    assert not DBTaskResult.objects.exists()


def test_a_document_that_is_not_a_pdf_gets_a_certificate_only(acme, people):
    made = sealing.completed_request(
        acme,
        staff=people["staff_on_team"],
        signer_user=people["client_admin"],
        data=b"Plain terms, version 1\n",
        filename="terms.txt",
    )
    completion.signature_seal(made.request.pk)
    request = SignatureRequest.objects.get(pk=made.request.pk)
    assert request.signed is None and request.certificate is not None
    entry = sealed_entry(request)
    assert entry["payload"]["signed"] is None
    assert entry["content_sha256"] == request.certificate.sha256
    assert sealing.validation(sealing.read_back(request.certificate)).bottom_line


def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(sealing.pdf_document())))
    writer.encrypt("owner-only", "owner-only")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_encrypted_pdf(), "is encrypted"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog broken\n%%EOF\n", "not a readable PDF"),
    ],
    ids=["encrypted", "broken"],
)
def test_a_pdf_that_cannot_be_sealed_stores_nothing_and_is_not_retried(acme, people, data, reason):
    made = sealing.completed_request(
        acme, staff=people["staff_on_team"], signer_user=people["client_admin"], data=data
    )
    assert made.version.content_type == "application/pdf"
    counts = stored_counts()
    with pytest.raises(completion.NotSealable, match=reason):
        completion.signature_seal(made.request.pk)
    assert stored_counts() == counts
    completion.seal_soon(made.request.pk)
    request = SignatureRequest.objects.get(pk=made.request.pk)
    assert reason in request.seal_error
    assert request.sealed_at is None and request.certificate is None
    assert stored_counts() == counts
    assert not DBTaskResult.objects.exists()


def test_an_open_request_is_not_sealed(done):
    SignatureRequest.objects.filter(pk=done.request.pk).update(status="open")
    counts = stored_counts()
    with pytest.raises(completion.NotSealable, match="not completed"):
        completion.signature_seal(done.request.pk)
    assert stored_counts() == counts


def test_a_failure_is_recorded_and_retried_by_a_task_a_minute_later(done, settings):
    settings.ATRIUM_TSA_URL = "http://127.0.0.1:9/tsa"  # nothing listens there
    counts = stored_counts()
    completion.seal_soon(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    assert request.sealed_at is None
    assert "timestamp" in request.seal_error.lower()
    assert stored_counts() == counts
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == "approvals.signing.tasks.signature_seal_retry"
    assert queued.args_kwargs["args"] == [done.request.pk, 2]
    delay = queued.run_after - datetime.now(UTC)
    assert timedelta(seconds=50) < delay <= timedelta(seconds=60)
    # The authority is back: the task, found by its path as the worker finds it, seals.
    settings.ATRIUM_TSA_URL = ""
    assert queued.task.func is signature_seal_retry.func
    queued.task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])
    request = SignatureRequest.objects.get(pk=done.request.pk)
    assert request.sealed_at is not None and request.seal_error == ""


def test_retrying_stops_after_the_last_attempt(done, settings):
    settings.ATRIUM_TSA_URL = "http://127.0.0.1:9/tsa"
    completion.seal_soon(done.request.pk, completion.MAX_ATTEMPTS)
    assert not DBTaskResult.objects.exists()
    assert SignatureRequest.objects.get(pk=done.request.pk).seal_error


# --- a timestamp authority (RFC 3161), on this machine -----------------------------------------


def _tsa_identity():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return keys._asn1_key(key), keys._asn1_cert(certificate)


@pytest.fixture
def tsa(settings):
    """An RFC 3161 timestamp authority on a local port, answering as a real one does
    (``application/timestamp-reply``); ATRIUM_TSA_URL points at it."""
    key, certificate = _tsa_identity()
    stamper = DummyTimeStamper(tsa_cert=certificate, tsa_key=key)
    served = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            served.append(self.headers["Content-Type"])
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ATRIUM_TSA_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield served
    server.shutdown()
    server.server_close()


def test_with_a_timestamp_authority_the_seal_is_timestamped(done, tsa):
    completion.signature_seal(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    # Both PDFs were stamped (pyHanko also asks once to learn a reply's size).
    assert len(tsa) >= 2 and set(tsa) == {"application/timestamp-query"}
    status = sealing.validation(sealing.read_back(request.signed))
    assert status.intact and status.valid and status.trusted
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid
    assert abs(stamp.timestamp - datetime.now(UTC)) < timedelta(minutes=1)
    assert sealed_entry(request)["payload"]["seal"]["timestamped"] is True


# --- privileged documents and the evidence bundle ---------------------------------------------


def test_a_privileged_documents_seal_is_privileged_to_the_same_people(
    acme, people, privileged_world
):
    made = sealing.completed_request(
        acme,
        staff=people["staff_on_team"],
        signer_user=privileged_world.granted,
        privileged_document=privileged_world.document,
        thread=privileged_world.thread,
    )
    completion.signature_seal(made.request.pk)
    request = SignatureRequest.objects.get(pk=made.request.pk)
    # The fixture's privileged document is plain text: a certificate, no signed copy.
    assert request.signed is None
    for version in (request.certificate,):
        document = version.document
        assert document.privileged
        assert permissions.can_on_item(people["staff_on_team"], "view", document)
        assert permissions.can_on_item(privileged_world.granted, "view", document)
        assert not permissions.can_on_item(people["client_member"], "view", document)


def _bundle(request) -> dict:
    documents = [
        {
            "version": version.public_id,
            "title": version.document.title,
            "filename": version.filename,
            "size": version.size,
            "sha256": version.sha256,
        }
        for version in (request.version, request.certificate, request.signed)
    ]
    return bundle_export(subject=request.public_id, title=request.title, documents=documents)


def test_the_bundle_of_a_sealed_request_proves_the_signed_pdf(done):
    completion.signature_seal(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    bundle = json.loads(json.dumps(_bundle(request)))
    signed = sealing.read_back(request.signed)
    files = {
        "signed.pdf": signed,
        "original.pdf": sealing.read_back(request.version),
        "certificate.pdf": sealing.read_back(request.certificate),
    }
    report = verify_bundle(bundle, public_key_bytes(), files)
    assert report.matches["signed.pdf"]["version"] == request.signed.public_id
    assert [e.entry["kind"] for e in report.entries][-1] == "signature.sealed"
    tampered = bytearray(signed)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(VerificationError, match="matches no document"):
        verify_bundle(bundle, public_key_bytes(), {"signed.pdf": bytes(tampered)})
    bundle["entries"][-1]["entry"]["payload"]["seal"]["timestamped"] = True
    with pytest.raises(VerificationError):
        verify_bundle(bundle, public_key_bytes(), {"signed.pdf": signed})


def test_a_sender_who_left_leaves_the_storing_to_a_firm_admin(done, people):
    sender = people["staff_on_team"]
    sender.is_active = False
    sender.save(update_fields=["is_active"])
    completion.signature_seal(done.request.pk)
    request = SignatureRequest.objects.get(pk=done.request.pk)
    assert request.signed.uploaded_by == people["firm_admin"]
    assert request.certificate.uploaded_by == people["firm_admin"]
