"""The firm's document-signing certificate and key (docs/signatures.md, "Signing key").

From the environment (read by the settings): ``ATRIUM_SIGNING_CERT`` names a PKCS#12 file
(``.p12``/``.pfx``, with ``ATRIUM_SIGNING_PASSPHRASE`` when it has one) or a PEM file holding
the certificate and, after it, its chain; ``ATRIUM_SIGNING_KEY`` then names the PEM key
(``ATRIUM_SIGNING_PASSPHRASE`` when it is encrypted). In development, with nothing set, a
self-signed certificate is made once into ``var/signing/`` and kept, so seals made on one
day still check against it the next. Production refuses to start without one (settings).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

log = logging.getLogger(__name__)

DEVELOPMENT_DIR = "signing"
CERT_FILE = "certificate.pem"
KEY_FILE = "key.pem"
# Ten years: a development seal made today still checks when the demo is opened again.
DEVELOPMENT_DAYS = 3650
PKCS12_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class SigningKey:
    """The certificate (and chain) seals are made with, ready for pyHanko."""

    signer: SimpleSigner
    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    source: str  # "environment" or "development"

    @property
    def der(self) -> bytes:
        return self.certificate.dump()

    @property
    def sha256(self) -> str:
        """The fingerprint printed on certificates and recorded in ``signature.sealed``."""
        return hashlib.sha256(self.der).hexdigest()

    @property
    def subject(self) -> str:
        return self.certificate.subject.human_friendly

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """What a seal is checked against: the certificate and its chain, so that a seal
        checks whether the certificate is self-signed or issued by a CA of the firm's."""
        return [self.certificate, *self.chain]


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _same_key(key, certificate: x509.Certificate) -> bool:
    der = serialization.Encoding.DER
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(der, info) == certificate.public_key().public_bytes(
        der, info
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"{what} {path!r} cannot be read: {error.strerror}.") from None


def load(cert_path: str, key_path: str = "", passphrase: str = "") -> tuple:
    """``(key, certificate, chain)`` (``cryptography`` objects) from the files named.
    ImproperlyConfigured, without echoing a passphrase, when a file cannot be read or
    parsed, the passphrase is wrong, or the key is not the certificate's."""
    secret = passphrase.encode("utf-8") if passphrase else None
    data = _read(cert_path, "ATRIUM_SIGNING_CERT")
    if cert_path.lower().endswith(PKCS12_SUFFIXES):
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, secret)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "ATRIUM_SIGNING_CERT is not a PKCS#12 file this passphrase opens "
                "(ATRIUM_SIGNING_PASSPHRASE)."
            ) from None
        if key is None or certificate is None:
            raise ImproperlyConfigured(
                "ATRIUM_SIGNING_CERT: the PKCS#12 file must hold the key and its certificate."
            )
        chain = list(chain or [])
    else:
        try:
            certificate, *chain = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise ImproperlyConfigured(
                "ATRIUM_SIGNING_CERT must be a PKCS#12 file (.p12, .pfx) or PEM certificates."
            ) from None
        if not key_path:
            raise ImproperlyConfigured(
                "ATRIUM_SIGNING_KEY must name the PEM key of a PEM ATRIUM_SIGNING_CERT."
            )
        try:
            key = serialization.load_pem_private_key(_read(key_path, "ATRIUM_SIGNING_KEY"), secret)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "ATRIUM_SIGNING_KEY is not a PEM private key this passphrase opens "
                "(ATRIUM_SIGNING_PASSPHRASE)."
            ) from None
    if not _same_key(key, certificate):
        raise ImproperlyConfigured("ATRIUM_SIGNING_KEY is not the key of ATRIUM_SIGNING_CERT.")
    return key, certificate, chain


def _firm_name() -> str:
    """The name the development certificate is issued to: the firm's, else the portal's."""
    try:
        from accounts.models import Firm

        name = Firm.objects.values_list("name", flat=True).first()
    except Exception:  # no database yet (a first check before migrate): the portal's name
        name = None
    return (name or "Atrium").strip()[:64] or "Atrium"


def development_certificate(name: str) -> tuple:
    """A new self-signed document-signing certificate (EC P-256) for ``name``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Document signing (development)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=DEVELOPMENT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _development_files() -> tuple[Path, Path]:
    """``var/signing/{certificate,key}.pem``, made once: written into a private directory
    beside it and renamed into place, so two processes starting at once keep one pair."""
    directory = Path(settings.VAR_DIR) / DEVELOPMENT_DIR
    if not directory.exists():
        key, certificate = development_certificate(_firm_name())
        staging = Path(tempfile.mkdtemp(prefix=".signing-", dir=settings.VAR_DIR))
        try:
            key_path = staging / KEY_FILE
            descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
            (staging / CERT_FILE).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
            try:
                staging.rename(directory)
            except OSError:
                pass  # another process made it first: theirs is kept
            else:
                log.warning("signing: made a self-signed development certificate in %s", directory)
                staging = None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    return directory / CERT_FILE, directory / KEY_FILE


@cache
def _signing_key(cert_path: str, key_path: str, passphrase: str, source: str) -> SigningKey:
    key, certificate, chain = load(cert_path, key_path, passphrase)
    asn1_certificate = _asn1_cert(certificate)
    asn1_chain = tuple(_asn1_cert(item) for item in chain)
    signer = SimpleSigner(
        signing_cert=asn1_certificate,
        signing_key=_asn1_key(key),
        cert_registry=SimpleCertificateStore.from_certs([asn1_certificate, *asn1_chain]),
    )
    return SigningKey(signer, asn1_certificate, asn1_chain, source)


def signing_key() -> SigningKey:
    """The firm's signing certificate and key: the environment's, or in development the
    one made into ``var/signing/``. ImproperlyConfigured when signing is off or the files
    given cannot be used (the message says which and why)."""
    if not settings.ATRIUM_SIGNING_ENABLED:
        raise ImproperlyConfigured("document signing is off (ATRIUM_SIGNING_ENABLED=false)")
    if settings.ATRIUM_SIGNING_CERT:
        return _signing_key(
            settings.ATRIUM_SIGNING_CERT,
            settings.ATRIUM_SIGNING_KEY,
            settings.ATRIUM_SIGNING_PASSPHRASE,
            "environment",
        )
    cert_path, key_path = _development_files()
    return _signing_key(str(cert_path), str(key_path), "", "development")
