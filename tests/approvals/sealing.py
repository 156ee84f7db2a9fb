"""Completed signature requests built directly (rows and ledger entries as the signing
services write them), for the tests of what completion makes: the certificate, the seal,
the check page."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

import evidence
from approvals.consent import CONSENT_VERSION, consent_json, consent_sha256
from approvals.models import (
    SignatureRequest,
    SignatureStatus,
    Signer,
    SignerRole,
    SignerStatus,
)
from approvals.signing.keys import signing_key
from messaging.services import thread_create
from tests import factories
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


def pdf_document(pages: int = 2) -> bytes:
    return factories.pdf_bytes(pages)


def read_back(version) -> bytes:
    with vault_services.version_content(version=version) as chunks:
        return b"".join(chunks)


def _request_json(request) -> dict:
    return {
        "id": request.public_id,
        "title": request.title,
        "account": {"id": request.account.public_id, "name": request.account.name},
        "thread": request.thread.public_id,
        "order": request.order,
        "status": request.status,
    }


def _document_json(request) -> dict:
    version = request.version
    return {
        "version": version.public_id,
        "document": version.document.public_id,
        "title": version.document.title,
        "filename": version.filename,
        "size": version.size,
        "sha256": request.sha256,
    }


def _person(user) -> dict:
    return {"id": user.public_id, "name": user.name, "email": user.email}


def _append(request, actor, kind, signer=None, **facts):
    payload = {
        "request": _request_json(request),
        "document": _document_json(request),
        "from": {"ip": "203.0.113.7", "user_agent": AGENT, "authentication": "password"},
    }
    if signer is not None:
        payload["signer"] = _person(signer.user)
        payload["role"] = signer.role
    payload.update(facts)
    return evidence.append(
        actor=actor,
        kind=kind,
        subject=request.public_id,
        payload=payload,
        content_sha256=request.sha256,
    )


def completed_request(
    account,
    *,
    staff,
    signer_user,
    approver_user=None,
    viewer_user=None,
    data: bytes | None = None,
    filename: str = "engagement.pdf",
    title="Engagement letter",
    privileged_document=None,
    thread=None,
):
    """A request on a new document of ``account`` (``data``, a PDF unless given), approved
    (when there is an approver), viewed, consented and signed by ``signer_user``,
    completed; with every ledger entry the signing services write."""
    if privileged_document is not None:
        document = privileged_document
    else:
        document = vault_services.document_create(
            actor=staff,
            account=account,
            upload=sealed_upload(data if data is not None else pdf_document(), filename),
            title=title,
        ).document
    version = document.latest_version
    thread = thread or thread_create(actor=staff, account=account, title=f"Signing {title}")
    request = SignatureRequest.objects.create(
        account=account,
        thread=thread,
        version=version,
        sha256=version.sha256,
        title=title,
        order="sequential",
        created_by=staff,
        created_at=T0,
        privileged=document.privileged,
    )
    rows = []
    position = 0
    if approver_user is not None:
        rows.append(
            Signer(
                request=request,
                user=approver_user,
                role=SignerRole.APPROVER,
                position=position,
                status=SignerStatus.APPROVED,
            )
        )
        position += 1
    rows.append(
        Signer(
            request=request,
            user=signer_user,
            role=SignerRole.SIGNER,
            position=position,
            status=SignerStatus.SIGNED,
        )
    )
    if viewer_user is not None:
        rows.append(
            Signer(
                request=request,
                user=viewer_user,
                role=SignerRole.VIEWER,
                position=position + 1,
                status=SignerStatus.VIEWER,
                notified_at=T0,
            )
        )
    Signer.objects.bulk_create(rows)
    _append(request, staff, "signature.requested")
    minute = 0
    for row in rows:
        if row.role == SignerRole.VIEWER:
            continue
        minute += 10
        row.notified_at = T0
        row.viewed_at = T0 + timedelta(minutes=minute)
        row.viewed_sha256 = version.sha256
        row.acted_at = T0 + timedelta(minutes=minute + 5)
        row.method = "password+totp"
        row.ip = "203.0.113.7"
        row.user_agent = AGENT
        _append(request, row.user, "signature.viewed", row)
        if row.role == SignerRole.SIGNER:
            row.consented_at = T0 + timedelta(minutes=minute + 3)
            row.consent_version = CONSENT_VERSION
            row.consent_sha256 = consent_sha256()
            row.signature_name = row.user.name
            _append(request, row.user, "signature.consented", row, consent=consent_json())
            entry = _append(
                request,
                row.user,
                "signature.signed",
                row,
                name=row.user.name,
                drawn_sha256=None,
                consent={"version": CONSENT_VERSION, "sha256": consent_sha256()},
                reauthentication="password+totp",
            )
        else:
            entry = _append(
                request, row.user, "signature.approved", row, reauthentication="password+totp"
            )
        row.ledger_index = entry.index
        row.save()
    request.status = SignatureStatus.COMPLETED
    request.closed_at = T0 + timedelta(hours=1)
    request.save(update_fields=["status", "closed_at"])
    _append(
        request,
        None,
        "signature.completed",
        signers=[
            {**_person(row.user), "role": row.role} for row in rows if row.role != SignerRole.VIEWER
        ],
    )
    return SimpleNamespace(request=request, version=version, document=document, rows=rows)


def validation(data: bytes):
    """pyHanko's status of the first signature of ``data``, trusting the firm's certificate
    only (no fetching: nothing leaves the machine)."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    context = ValidationContext(trust_roots=signing_key().trust_roots, allow_fetching=False)
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- certificates other than the firm's ---------------------------------------------------------


def issued(name: str, issuer_key=None, issuer_name=None, *, ca=False):
    """A key and a certificate for ``name``: self-signed, or issued by the key given."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key or key, hashes.SHA256())
    )
    return key, certificate


def pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def pem_key(key, passphrase: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
