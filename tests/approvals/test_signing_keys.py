"""The firm's document-signing certificate (docs/signatures.md, "Signing key"): from the
environment as PKCS#12 or PEM, made once in development, and required in production."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from accounts.models import Firm
from approvals.models import SignatureRequest
from approvals.signing import completion, keys
from tests.approvals import sealing
from tests.approvals.sealing import issued, pem, pem_key
from tests.config.test_settings import production, run


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ATRIUM_SIGNING_CERT = ""
    return tmp_path


def test_development_makes_a_certificate_once_and_keeps_the_key_private(db, var_dir):
    Firm.objects.update_or_create(singleton=True, defaults={"name": "Northwind Legal"})
    first = keys.signing_key()
    directory = var_dir / "signing"
    assert first.source == "development"
    assert stat.S_IMODE((directory / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    certificate = x509.load_pem_x509_certificate((directory / "certificate.pem").read_bytes())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Northwind Legal"
    )
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    # Kept: the same certificate the next time, even once the cached one is forgotten.
    keys._signing_key.cache_clear()
    Firm.objects.update(name="Renamed")
    assert keys.signing_key().sha256 == first.sha256
    assert not [path for path in var_dir.iterdir() if path.name.startswith(".signing-")]


def test_a_pem_certificate_with_its_chain_and_an_encrypted_key(settings, tmp_path):
    ca_key, ca = issued("Firm CA", ca=True)
    key, certificate = issued("Northwind Legal seal", ca_key, ca.subject)
    (tmp_path / "seal.pem").write_bytes(pem(certificate) + pem(ca))
    (tmp_path / "seal.key").write_bytes(pem_key(key, b"open sesame"))
    settings.ATRIUM_SIGNING_CERT = str(tmp_path / "seal.pem")
    settings.ATRIUM_SIGNING_KEY = str(tmp_path / "seal.key")
    settings.ATRIUM_SIGNING_PASSPHRASE = "open sesame"
    loaded = keys.signing_key()
    assert loaded.source == "environment"
    assert loaded.subject == "Common Name: Northwind Legal seal"
    assert [c.subject.human_friendly for c in loaded.trust_roots] == [
        "Common Name: Northwind Legal seal",
        "Common Name: Firm CA",
    ]


def test_a_pkcs12_file(settings, tmp_path):
    key, certificate = issued("Northwind Legal seal")
    path = tmp_path / "seal.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, certificate, None, serialization.BestAvailableEncryption(b"pw-123")
        )
    )
    settings.ATRIUM_SIGNING_CERT = str(path)
    settings.ATRIUM_SIGNING_KEY = ""
    settings.ATRIUM_SIGNING_PASSPHRASE = "pw-123"
    assert keys.signing_key().subject == "Common Name: Northwind Legal seal"
    settings.ATRIUM_SIGNING_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(ImproperlyConfigured, match="PKCS#12 file this passphrase opens") as error:
        keys.signing_key()
    assert "not-the-passphrase" not in str(error.value)


def test_a_key_that_is_not_the_certificates_is_refused(settings, tmp_path):
    _, certificate = issued("Seal")
    other, _ = issued("Other")
    (tmp_path / "seal.pem").write_bytes(pem(certificate))
    (tmp_path / "other.key").write_bytes(pem_key(other))
    settings.ATRIUM_SIGNING_CERT = str(tmp_path / "seal.pem")
    settings.ATRIUM_SIGNING_KEY = str(tmp_path / "other.key")
    settings.ATRIUM_SIGNING_PASSPHRASE = ""
    with pytest.raises(ImproperlyConfigured, match="not the key of ATRIUM_SIGNING_CERT"):
        keys.signing_key()
    (tmp_path / "seal.pem").write_bytes(b"not a certificate")
    with pytest.raises(ImproperlyConfigured, match="PEM certificates"):
        keys.signing_key()


def test_with_signing_off_the_certificate_is_stored_unsealed(acme, people, settings, var_dir):
    settings.ATRIUM_SIGNING_ENABLED = False
    with pytest.raises(ImproperlyConfigured, match="signing is off"):
        keys.signing_key()
    made = sealing.completed_request(
        acme, staff=people["staff_on_team"], signer_user=people["client_admin"]
    )
    completion.signature_seal(made.request.pk)
    request = SignatureRequest.objects.get(pk=made.request.pk)
    assert request.signed is None and request.certificate is not None
    assert b"/ByteRange" not in sealing.read_back(request.certificate)
    assert not (var_dir / "signing").exists()


# --- production: settings read in a fresh interpreter (tests/config/test_settings.py) ----------


def test_production_refuses_to_start_with_signing_on_and_no_certificate(tmp_path):
    result = run(["manage.py", "check"], tmp_path, **production(ATRIUM_SIGNING_ENABLED=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert (
        "Refusing to start in production mode: ATRIUM_SIGNING_CERT must name the firm's "
        "document-signing certificate" in result.stderr
    )
    assert not (tmp_path / "signing").exists()


def test_production_refuses_a_pem_certificate_without_its_key_or_a_missing_file(tmp_path):
    _, certificate = issued("Seal")
    (tmp_path / "seal.pem").write_bytes(pem(certificate))
    result = run(
        ["manage.py", "check"],
        tmp_path,
        **production(ATRIUM_SIGNING_ENABLED=None, ATRIUM_SIGNING_CERT=str(tmp_path / "seal.pem")),
    )
    assert result.returncode != 0
    assert "ATRIUM_SIGNING_KEY must name the PEM key" in result.stderr
    result = run(
        ["manage.py", "check"],
        tmp_path,
        **production(
            ATRIUM_SIGNING_ENABLED=None,
            ATRIUM_SIGNING_CERT=str(tmp_path / "seal.pem"),
            ATRIUM_SIGNING_KEY=str(tmp_path / "absent.key"),
        ),
    )
    assert result.returncode != 0
    assert "ATRIUM_SIGNING_KEY names no file" in result.stderr


def test_production_with_a_certificate_passes_the_deployment_checks(tmp_path):
    key, certificate = issued("Northwind Legal seal")
    path = tmp_path / "seal.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, certificate, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    variables = production(
        ATRIUM_SIGNING_ENABLED=None,
        ATRIUM_SIGNING_CERT=str(path),
        ATRIUM_SIGNING_PASSPHRASE="pw",
    )
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **variables
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    printed = run(
        [
            "-c",
            "import django; django.setup(); from approvals.signing.keys import signing_key; "
            "print(signing_key().subject)",
        ],
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings",
        **variables,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == "Common Name: Northwind Legal seal"
    assert not (tmp_path / "signing").exists()
