"""The firm's evidence key: an Ed25519 key from the environment (``ATRIUM_EVIDENCE_KEY``,
read by the settings), never stored in the database. It signs checkpoints and bundles; its
public half is what clients verify with."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from evidence.verify import fingerprint, verifier_key

ALGORITHM = "Ed25519"


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
