"""The firm's evidence key: an Ed25519 key from the environment (``ATRIUM_EVIDENCE_KEY``,
read by the settings), never stored in the database. It signs checkpoints and bundles; its
public half is what clients verify with."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

ALGORITHM = "Ed25519"
# The signature type byte of an Ed25519 key in a signed note (C2SP signed-note).
NOTE_ED25519 = b"\x01"


@cache
def _key_for(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key() -> Ed25519PrivateKey:
    return _key_for(settings.ATRIUM_EVIDENCE_KEY)


def public_key_bytes() -> bytes:
    return private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def origin() -> str:
    return settings.ATRIUM_EVIDENCE_ORIGIN


def sign(data: bytes) -> bytes:
    return private_key().sign(data)


def fingerprint(public_key: bytes) -> str:
    """64 lowercase hex of SHA-256 over the 32 raw public key bytes."""
    return hashlib.sha256(public_key).hexdigest()


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash that starts a signed note's signature: the first bytes of
    SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)."""
    return hashlib.sha256(name.encode() + b"\n" + NOTE_ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The key as witnesses name it: ``<name>+<8 hex of key hash>+<base64(0x01 ‖ key)>``."""
    encoded = base64.b64encode(NOTE_ED25519 + public_key).decode()
    return f"{name}+{note_key_hash(name, public_key).hex()}+{encoded}"


def public_key_info() -> dict:
    public = public_key_bytes()
    name = origin()
    return {
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(public).decode(),
        "fingerprint": fingerprint(public),
        "origin": name,
        "verifier_key": verifier_key(name, public),
    }
