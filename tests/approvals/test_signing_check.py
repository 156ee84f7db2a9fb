"""The public check page, /check/ (docs/signatures.md, "Checking a document"): a sealed PDF
or an evidence bundle in, what it proves out; nothing stored, size and rate limited, CSRF
kept, open to anyone."""

from __future__ import annotations

import io
import json
from datetime import UTC

import pytest
from django.apps import apps
from django.test import Client
from pypdf import PdfWriter

from accounts.services.firm import firm_get
from approvals.models import SignatureRequest
from approvals.signing import check, completion, keys
from approvals.signing import seal as sealing_module
from config import bodies
from evidence.bundles import bundle_export
from evidence.models import Entry
from tests.approvals import sealing

URL = "/check/"


@pytest.fixture
def sealed(acme, people):
    made = sealing.completed_request(
        acme, staff=people["staff_on_team"], signer_user=people["client_admin"]
    )
    completion.signature_seal(made.request.pk)
    return SignatureRequest.objects.select_related("version__document").get(pk=made.request.pk)


def rows() -> dict:
    firm_get()  # the page makes the firm's row on first use: not something it stores
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def post(client, data: bytes, name: str = "file.pdf", address: str = "198.51.100.4"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(URL, {"file": upload}, REMOTE_ADDR=address)


def bundle_of(request) -> bytes:
    documents = [
        {
            "version": v.public_id,
            "title": v.document.title,
            "filename": v.filename,
            "size": v.size,
            "sha256": v.sha256,
        }
        for v in (request.version, request.certificate, request.signed)
    ]
    bundle = bundle_export(subject=request.public_id, title=request.title, documents=documents)
    return json.dumps(bundle).encode()


def test_the_page_is_open_to_anyone(client, db):
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Check a signed document" in response.content
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert b'type="file"' in response.content


def test_a_sealed_pdf_verifies_and_names_its_request(client, sealed):
    signed = sealing.read_back(sealed.signed)
    before = rows()
    response = post(client, signed)
    assert response.status_code == 200
    result = response.context["result"]
    assert result.verified and result.intact and result.whole_file and result.ours
    assert result.problems == []
    assert result.signer == keys.signing_key().subject
    assert (result.sealed.request, result.sealed.what) == (sealed.public_id, "signed")
    completed = Entry.objects.get(subject=sealed.public_id, kind="signature.completed")
    assert result.sealed.completed_at == completed.at
    text = response.content.decode()
    assert "the signed document of signature request" in text
    assert 'data-check-result="verified"' in text
    assert sealed.public_id in text and "Engagement letter" in text
    assert rows() == before  # nothing stored


def test_the_certificate_of_completion_verifies_too(client, sealed):
    response = post(client, sealing.read_back(sealed.certificate))
    result = response.context["result"]
    assert result.verified
    assert (result.sealed.request, result.sealed.what) == (sealed.public_id, "certificate")
    assert "the certificate of completion of signature request" in response.content.decode()


def test_a_changed_byte_is_caught(client, sealed):
    signed = bytearray(sealing.read_back(sealed.signed))
    signed[len(signed) // 3] ^= 0x01
    response = post(client, bytes(signed))
    result = response.context["result"]
    assert not result.verified
    assert "The file was changed after it was sealed." in result.problems
    assert result.sealed is None
    assert 'data-check-result="failed"' in response.content.decode()


def test_pages_added_after_the_seal_are_caught(client, sealed):
    signed = sealing.read_back(sealed.signed)
    # An incremental update: the sealed bytes stay, something is appended after them.
    writer = PdfWriter(io.BytesIO(signed), incremental=True)
    writer.add_blank_page()
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(signed)
    result = post(client, out.getvalue()).context["result"]
    assert not result.verified
    assert any("does not cover the whole file" in p for p in result.problems)


def test_a_pdf_sealed_with_another_certificate_is_not_ours(client, sealed, tmp_path, settings):
    key, certificate = sealing.issued("Somebody Else")
    (tmp_path / "c.pem").write_bytes(sealing.pem(certificate))
    (tmp_path / "k.pem").write_bytes(sealing.pem_key(key))
    other = keys._signing_key(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), "", "test")
    forged = sealing_module.seal(sealing.pdf_document(), key=other, reason="forged")
    result = post(client, forged).context["result"]
    assert not result.verified
    assert result.intact and result.whole_file and not result.ours
    assert "The seal is not made with this portal's signing certificate." in result.problems


def test_an_unsealed_pdf_and_an_unreadable_one(client, db):
    result = post(client, sealing.pdf_document()).context["result"]
    assert not result.verified
    assert result.problems == ["The PDF carries no seal or signature."]
    result = post(client, b"%PDF-1.7\n garbage").context["result"]
    assert not result.verified and result.problems


def test_a_file_that_is_neither_is_refused_with_a_reason(client, db):
    before = rows()
    response = post(client, b"Minutes of the meeting.\n", name="minutes.txt")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "This is neither a PDF nor an evidence bundle (a .json file)."
    ]
    assert "result" not in response.context
    assert rows() == before


def test_no_file_is_a_form_error(client, db):
    response = client.post(URL, {}, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_a_bundle_verifies_and_a_tampered_one_does_not(client, sealed):
    data = bundle_of(sealed)
    response = post(client, data, name="bundle.json")
    result = response.context["result"]
    assert result.verified and result.subject == sealed.public_id
    text = response.content.decode()
    assert "VERIFIED: evidence for" in text and sealed.public_id in text
    # The sealing entry is told in words, with the certificate it made.
    assert "the certificate of completion" in text
    bundle = json.loads(data)
    bundle["entries"][0]["entry"]["payload"]["request"]["title"] = "Another letter"
    response = post(client, json.dumps(bundle).encode(), name="bundle.json")
    result = response.context["result"]
    assert not result.verified and result.problem
    assert 'data-check-result="failed"' in response.content.decode()
    assert "VERIFIED" not in response.content.decode()


def test_a_file_over_the_limit_is_refused(client, db, settings):
    settings.ATRIUM_CHECK_MAX_BYTES = 1000
    response = post(client, b"%PDF-1.7\n" + b"0" * 1000)
    assert response.status_code == 413
    assert "larger than" in response.context["form"].errors["file"][0]
    assert "result" not in response.context


def test_the_server_takes_a_body_of_the_limit_on_this_page_only(settings):
    assert bodies.body_rule("POST", URL).limit == settings.ATRIUM_CHECK_MAX_BYTES + 64 * 1024
    assert bodies.body_rule("GET", URL).limit == bodies.BODY_MAX_BYTES


def test_each_address_is_rate_limited(client, db, settings):
    settings.ATRIUM_CHECK_LIMIT = {"limit": 2, "window": 600}
    for _ in range(2):
        assert post(client, b"text", address="198.51.100.9").status_code == 400
    response = post(client, sealing.pdf_document(), address="198.51.100.9")
    assert response.status_code == 429
    assert "Try again in 10 minutes" in response.content.decode()
    assert "result" not in response.context
    # Another address is counted apart.
    assert post(client, sealing.pdf_document(), address="198.51.100.10").status_code == 200


def test_csrf_is_kept(db):
    strict = Client(enforce_csrf_checks=True)
    upload = io.BytesIO(b"%PDF-1.7\n")
    upload.name = "a.pdf"
    assert strict.post(URL, {"file": upload}).status_code == 403
    page = strict.get(URL)
    token = page.cookies["csrftoken"].value
    upload.seek(0)
    response = strict.post(URL, {"file": upload, "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_signed_in_people_check_the_same_way_and_times_stay_in_utc(client, sealed, people):
    member = people["client_member"]
    member.time_zone = "Asia/Tokyo"
    member.save(update_fields=["time_zone"])
    client.force_login(member)
    response = post(client, sealing.read_back(sealed.signed))
    result = response.context["result"]
    assert result.verified
    shown = result.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f">{shown}</time> (the sealer's clock)" in response.content.decode()


def test_with_signing_off_bundles_are_still_checked(client, sealed, settings):
    data = bundle_of(sealed)
    settings.ATRIUM_SIGNING_ENABLED = False
    response = post(client, sealing.read_back(sealed.signed))
    assert response.status_code == 400
    assert "cannot check a PDF" in response.context["form"].errors["file"][0]
    assert post(client, data, name="bundle.json").context["result"].verified


def test_check_file_tells_the_kinds_apart(sealed):
    assert isinstance(check.check_file(sealing.read_back(sealed.signed)), check.PdfCheck)
    assert isinstance(check.check_file(b"  {}"), check.BundleCheck)
    with pytest.raises(check.CheckError):
        check.check_file(b"")


def test_the_ledger_is_read_in_one_query_whatever_its_size(sealed, django_assert_num_queries):
    signed = sealing.read_back(sealed.signed)
    for _ in range(3):
        sealing.completed_request(
            sealed.account,
            staff=sealed.created_by,
            signer_user=sealed.signers.get(role="signer").user,
        )
    with django_assert_num_queries(1):
        result = check.pdf_check(signed)
    assert result.sealed.request == sealed.public_id
