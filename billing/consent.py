"""What a client admin agrees to when accepting a proposal, word for word, versioned.

The ledger entry of an acceptance carries the version, the text and its SHA-256, so the
wording a person agreed to stays provable after this text changes. A new wording is a new
constant and a new version; an old one is never edited (entries already name it).
"""

from __future__ import annotations

import hashlib

CONSENT_V1 = (
    "I have read this proposal, including its lines, amounts, validity and any scope "
    "document attached to it, and I accept it on behalf of the client account I act for. "
    "I understand that my acceptance, my typed name and this text are recorded as "
    "evidence, and that an invoice will follow."
)
CONSENT_VERSION = "v1"
CONSENT_TEXT = CONSENT_V1


def consent_json() -> dict:
    """The current consent as the ledger records it: ``{"version", "text", "sha256"}``."""
    return {
        "version": CONSENT_VERSION,
        "text": CONSENT_TEXT,
        "sha256": hashlib.sha256(CONSENT_TEXT.encode("utf-8")).hexdigest(),
    }
