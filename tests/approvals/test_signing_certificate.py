"""The certificate of completion (docs/signatures.md, "Certificate of completion"): what it
prints, read back from the PDF, and that the same facts print the same bytes."""

from __future__ import annotations

import base64
import io
import re

import pytest
from pypdf import PdfReader

from approvals.consent import CONSENT_VERSION, consent_sha256
from approvals.signing import certificate as certificates
from approvals.signing.keys import signing_key
from evidence import checkpoints
from evidence.keys import public_key_info
from evidence.models import Checkpoint, Entry
from tests.approvals import sealing


@pytest.fixture
def done(acme, people):
    return sealing.completed_request(
        acme,
        staff=people["staff_on_team"],
        signer_user=people["client_admin"],
        approver_user=people["client_member"],
        viewer_user=people["firm_admin"],
    )


def facts_of(request):
    key = signing_key()
    return certificates.certificate_facts(
        request, firm="Atrium", signing_subject=key.subject, signing_sha256=key.sha256
    )


def text_of(pdf: bytes) -> str:
    """The PDF's text with its line breaks taken out (a long value may wrap)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s*\n\s*", " ", text)


def test_the_certificate_names_the_document_every_participant_and_the_evidence(done, people):
    facts = facts_of(done.request)
    text = text_of(certificates.certificate_render(facts))
    squeezed = text.replace(" ", "")
    assert "Certificate of completion" in text
    assert "Engagement letter" in text
    assert "engagement.pdf" in text
    assert done.version.sha256 in squeezed
    assert done.request.public_id in text
    for role, person in (
        ("signer", people["client_admin"]),
        ("approver", people["client_member"]),
        ("viewer", people["firm_admin"]),
    ):
        assert person.name in text
        assert person.email in text
        assert person.public_id in text
        assert role in text
    signer = done.rows[1]
    assert "password+totp" in text
    assert "203.0.113.7" in text
    assert sealing.AGENT.replace(" ", "") in squeezed
    for moment in (
        signer.notified_at,
        signer.viewed_at,
        signer.consented_at,
        signer.acted_at,
        done.rows[0].acted_at,
        done.request.closed_at,
    ):
        assert certificates.utc(moment) in text
    assert "2026-12-01 09:23:00 UTC" in text  # the signer's consent
    assert CONSENT_VERSION in text
    assert consent_sha256() in squeezed
    # The ledger: every entry about the request, and the checkpoint that covers them.
    indexes = list(
        Entry.objects.filter(subject=done.request.public_id).values_list("index", "kind")
    )
    for _, kind in indexes:
        assert kind in text
    checkpoint = checkpoints.latest()
    assert checkpoint.size > indexes[-1][0]
    assert f"Tree size {checkpoint.size}" in text
    assert base64.b64encode(bytes(checkpoint.root)).decode() in squeezed
    assert certificates.utc(checkpoint.at) in text
    assert public_key_info()["fingerprint"].replace(" ", "") in squeezed
    assert signing_key().sha256 in squeezed


def test_a_checkpoint_is_made_when_the_newest_does_not_cover_the_request(done):
    checkpoints.checkpoint_make()
    covering = Checkpoint.objects.count()
    facts_of(done.request)
    assert Checkpoint.objects.count() == covering  # the newest covers it: none made
    sealing._append(done.request, None, "signature.reminded")
    facts = facts_of(done.request)
    assert Checkpoint.objects.count() == covering + 1
    assert facts.checkpoint_size == Entry.objects.count()


def test_the_same_facts_print_the_same_bytes(done):
    facts = facts_of(done.request)
    assert certificates.certificate_render(facts) == certificates.certificate_render(facts)


def test_a_request_with_no_ledger_entry_has_no_certificate(done):
    done.request.public_id = "sig_nothing_recorded"
    with pytest.raises(ValueError, match="no entry about sig_nothing_recorded"):
        facts_of(done.request)


def test_without_signing_the_certificate_says_it_is_not_sealed(done):
    facts = certificates.certificate_facts(
        done.request, firm="Atrium", signing_subject="", signing_sha256=""
    )
    assert "Not sealed: document signing is off." in text_of(certificates.certificate_render(facts))
