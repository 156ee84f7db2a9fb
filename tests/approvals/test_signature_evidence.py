"""``GET /api/v1/signatures/SIG/evidence``: the bundle of a completed request verifies
offline with ``evidence/verify.py`` (its ``verify_bundle`` and its command) against the
original document's bytes and the firm's public key alone, says in words who consented,
approved and signed what, and fails on a tampered entry or other bytes; once sealed it also
covers the certificate of completion and the sealed PDF."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

import evidence
from approvals import consent
from approvals import services as approval_services
from evidence import keys
from evidence.verify import VerificationError, main, verify_bundle
from tests import factories
from tests.approvals.conftest import sig_url
from tests.factories import PASSWORD
from vault.services.generated import generated_document_add

ORIGINAL = factories.pdf_bytes(1)


def drawn_png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (120, 40), 255).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def completed(client, acme, people):
    """Fiona approves, then Alex (with a drawn signature) and Morgan sign, over HTTP."""
    request = factories.signature_request(
        acme,
        by=people["staff_on_team"],
        signers=(people["client_admin"], people["client_member"]),
        approvers=(people["firm_admin"],),
        data=ORIGINAL,
        filename="agreement.pdf",
    )
    steps = [
        ("firm_admin", "/approve", {"password": PASSWORD, "comment": "Terms checked"}),
        ("client_admin", "/viewed", {}),
        (
            "client_admin",
            "/sign",
            {"consent": True, "name": "Alex Acme", "password": PASSWORD, "drawn": drawn_png()},
        ),
        ("client_member", "/sign", {"consent": True, "name": "Morgan M.", "password": PASSWORD}),
    ]
    for role, tail, body in steps:
        client.force_login(people[role])
        response = client.post(
            sig_url(request, tail),
            json.dumps(body),
            content_type="application/json",
            HTTP_USER_AGENT="Browser/2.0",
        )
        assert response.status_code in (200, 201), response.content
    request.refresh_from_db()
    assert request.status == "completed"
    return request


def bundle_of(client, people, request) -> dict:
    client.force_login(people["client_member"])
    response = client.get(sig_url(request, "/evidence"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{request.public_id}.evidence.json"'
    )
    return response.json()


def test_the_bundle_verifies_against_the_original(client, people, completed):
    bundle = bundle_of(client, people, completed)
    assert bundle["subject"] == completed.public_id
    assert [item["entry"]["kind"] for item in bundle["entries"]] == [
        "signature.requested",
        "signature.approved",
        "signature.viewed",
        "signature.consented",
        "signature.signed",
        "signature.consented",
        "signature.signed",
        "signature.completed",
    ]
    assert [d["sha256"] for d in bundle["documents"]] == [hashlib.sha256(ORIGINAL).hexdigest()]
    report = verify_bundle(bundle, keys.public_key_bytes(), {"agreement.pdf": ORIGINAL})
    assert set(report.matches) == {"agreement.pdf"}
    text = str(report)
    assert "Fiona Admin <" in text and "approved version" in text
    assert "saying “Terms checked”" in text
    assert f"text sha256 {consent.consent_sha256()}" in text
    assert "signed version" in text and "as “Alex Acme” with a drawn signature" in text
    assert "after re-authenticating with password" in text
    assert "the request completed (3 taking part)" in text
    signed = bundle["entries"][4]["entry"]
    assert signed["payload"]["from"]["user_agent"] == "Browser/2.0"


def test_the_command_verifies_it_offline(client, people, completed, tmp_path, capsys):
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle_of(client, people, completed)))
    original = tmp_path / "agreement.pdf"
    original.write_bytes(ORIGINAL)
    key = keys.public_key_info()["public_key"]
    argv = [str(bundle_path), "--public-key", key, "--document", str(original)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"VERIFIED: evidence for {completed.public_id}")
    assert "matches" in out
    other = tmp_path / "other.pdf"
    other.write_bytes(ORIGINAL + b"%")
    assert main([str(bundle_path), "--public-key", key, "--document", str(other)]) == 1


def test_a_tampered_entry_fails(client, people, completed, tmp_path, capsys):
    bundle = bundle_of(client, people, completed)
    changed = copy.deepcopy(bundle)
    changed["entries"][4]["entry"]["payload"]["name"] = "Someone Else"
    with pytest.raises(VerificationError, match="not in the signed ledger"):
        verify_bundle(changed, keys.public_key_bytes(), {"agreement.pdf": ORIGINAL})
    dropped = copy.deepcopy(bundle)
    del dropped["entries"][6]  # Morgan's signature
    with pytest.raises(VerificationError, match="missing"):
        verify_bundle(dropped, keys.public_key_bytes())
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    assert main([str(path), "--public-key", keys.public_key_info()["public_key"]]) == 1
    assert "not in the signed ledger" in capsys.readouterr().err


def test_once_sealed_the_bundle_covers_what_was_made(client, people, completed):
    """The seal is made elsewhere (``approvals.signing``); here its entry and versions are
    written as the contract states them, to see the bundle take them in."""
    staff = people["staff_on_team"]
    made = {}
    with transaction.atomic():
        for which, data in (("certificate", b"%PDF certificate"), ("signed", b"%PDF sealed")):
            made[which] = generated_document_add(
                actor=staff,
                account=completed.account,
                data=data,
                filename=f"{which}.pdf",
                title=f"{completed.title} ({which})",
                folder_name="Signed documents",
            ).version

        def described(version):
            return {
                "version": version.public_id,
                "title": version.document.title,
                "filename": version.filename,
                "size": version.size,
                "sha256": version.sha256,
            }

        evidence.append(
            actor=None,
            kind="signature.sealed",
            subject=completed.public_id,
            payload={
                "certificate": described(made["certificate"]),
                "signed": described(made["signed"]),
            },
            content_sha256=made["signed"].sha256,
        )
        completed.certificate, completed.signed = made["certificate"], made["signed"]
        completed.sealed_at = timezone.now()
        completed.save(update_fields=["certificate", "signed", "sealed_at"])
    bundle = approval_services.signature_bundle(request=completed)
    assert [d["filename"] for d in bundle["documents"]] == [
        "agreement.pdf",
        "certificate.pdf",
        "signed.pdf",
    ]
    report = verify_bundle(
        bundle,
        keys.public_key_bytes(),
        {"a.pdf": ORIGINAL, "c.pdf": b"%PDF certificate", "s.pdf": b"%PDF sealed"},
    )
    assert set(report.matches) == {"a.pdf", "c.pdf", "s.pdf"}
    assert "and the sealed PDF" in str(report)
    client.force_login(people["client_admin"])
    certificate = client.get(sig_url(completed, "/certificate"))
    assert certificate.status_code == 200
    assert b"".join(certificate.streaming_content) == b"%PDF certificate"
    sealed = client.get(sig_url(completed, "/signed"))
    assert b"".join(sealed.streaming_content) == b"%PDF sealed"


def test_strangers_get_404(client, people, completed):
    for role in ("other_client", "staff_off_team"):
        client.force_login(people[role])
        assert client.get(sig_url(completed, "/evidence")).status_code == 404


def test_a_document_that_is_not_a_pdf_has_no_sealed_copy(client, acme, people):
    alex = people["client_admin"]
    request = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(alex,), data=b"terms\n", filename="terms.txt"
    )
    approval_services.signature_sign(
        actor=alex, request=request, consent=True, name="Alex", password=PASSWORD
    )
    certificate = generated_document_add(
        actor=people["staff_on_team"],
        account=acme,
        data=b"%PDF certificate",
        filename="certificate.pdf",
        title="Certificate",
        folder_name="Signed documents",
    ).version
    request.refresh_from_db()
    request.certificate, request.sealed_at = certificate, timezone.now()
    request.save(update_fields=["certificate", "sealed_at"])
    client.force_login(alex)
    assert client.get(sig_url(request)).json()["document"]["pdf"] is False
    assert client.get(sig_url(request, "/certificate")).status_code == 200
    sealed = client.get(sig_url(request, "/signed"))
    assert (sealed.status_code, sealed.json()["error"]["code"]) == (409, "not_pdf")


DOCUMENT = {"version": "ver_a", "title": "Terms", "sha256": "c" * 64}
SIGNER = {"id": "usr_a", "name": "Alex", "email": "alex@acme.test"}


@pytest.mark.parametrize(
    ("kind", "payload", "words"),
    [
        (
            "signature.requested",
            {
                "document": DOCUMENT,
                "request": {"order": "parallel"},
                "participants": [{"name": "Alex", "role": "signer"}],
            },
            f"asked Alex (signer) to sign version ver_a “Terms” (sha256 {'c' * 64}), parallel",
        ),
        (
            "signature.viewed",
            {"signer": SIGNER, "role": "viewer"},
            "Alex <alex@acme.test> as viewer opened",
        ),
        (
            "signature.consented",
            {"signer": SIGNER, "consent": {"version": "esign-v1", "sha256": "e" * 64}},
            f"signatures (version esign-v1, text sha256 {'e' * 64})",
        ),
        (
            "signature.signed",
            {"signer": SIGNER, "document": DOCUMENT, "name": "A. A.", "drawn_sha256": None},
            "Alex <alex@acme.test> signed version ver_a “Terms”",
        ),
        ("signature.signed", {}, f"someone signed the document with sha256 {'d' * 64}"),
        ("signature.approved", {"signer": SIGNER, "comment": "ok"}, "for signing, saying “ok”"),
        ("signature.declined", {"signer": SIGNER, "reason": "Paper"}, "declined to sign"),
        ("signature.voided", {"reason": "Wrong\nfile"}, "was voided, saying “Wrong\\u000afile”"),
        ("signature.completed", {"signers": [SIGNER]}, "the request completed (1 taking part)"),
        (
            "signature.sealed",
            {"certificate": DOCUMENT, "signed": None},
            "certificate of completion version ver_a",
        ),
        ("signature.other", {}, f"signature.other (sha256 {'d' * 64})"),
    ],
)
def test_signature_entries_in_words(kind, payload, words):
    from evidence.verify import describe

    assert words in describe({"kind": kind, "payload": payload, "content_sha256": "d" * 64})


def test_the_verifier_alone_in_an_empty_directory_accepts_it(client, people, completed, tmp_path):
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle_of(client, people, completed)))
    verifier = Path(__file__).resolve().parents[2] / "evidence" / "verify.py"
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "verify.py").write_bytes(verifier.read_bytes())
    (alone / "agreement.pdf").write_bytes(ORIGINAL)
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own file
        [
            sys.executable,
            "-I",
            "verify.py",
            str(bundle_path),
            "--public-key",
            keys.public_key_info()["public_key"],
            "--document",
            "agreement.pdf",
        ],
        cwd=alone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout and "signed version" in done.stdout
