"""The disclosure a signer consents to before signing electronically, word for word,
versioned (docs/signatures.md).

It says what the U.S. ESIGN Act (15 U.S.C. 7001(c)) asks a consumer to be told before
electronic records replace paper: the right to have the record on paper, the right to
withdraw consent and how, what the consent covers, how to keep contact details current, how
to get a paper copy, and what is needed to open and keep the records. The ledger entry of a
consent carries the version and the text's SHA-256, and the certificate of completion prints
the hash, so what a person agreed to stays provable after this text changes. A new wording is
a new constant and a new version; an old one is never edited (entries already name it).
"""

from __future__ import annotations

import hashlib

ESIGN_V1 = (
    "Consent to electronic records and signatures.\n"
    "\n"
    "1. Scope. You agree to receive, review and sign this document electronically, and to "
    "receive electronically the records that go with it: notices about this signature "
    "request, the signed document and its certificate of completion. This consent covers "
    "this signature request only.\n"
    "\n"
    "2. Paper instead. You may ask for this document on paper and sign it by hand instead. "
    'Decline this request with the reason "paper, please" or write to the firm in the '
    "portal, and the firm will send you a paper copy. It costs you nothing.\n"
    "\n"
    "3. Withdrawing consent. You may withdraw this consent at any time before you sign, by "
    "declining the request. Withdrawing does not undo a signature already given, and the "
    "firm will then arrange another way to sign.\n"
    "\n"
    "4. Copies. After everyone has signed you can download the signed document and its "
    "certificate of completion from the portal at any time while your access lasts; ask the "
    "firm for a paper copy at no charge.\n"
    "\n"
    "5. Contact details. Keep your e-mail address current in your profile in the portal, "
    "so that notices reach you.\n"
    "\n"
    "6. What you need. A current web browser with JavaScript enabled, an e-mail address, "
    "a PDF reader to open the signed document and its certificate, and storage or a printer "
    "to keep a copy.\n"
    "\n"
    "By consenting you confirm that you can open and read this document in the portal, and "
    "that your electronic signature binds you as a handwritten one would."
)
CONSENT_VERSION = "esign-v1"
CONSENT_TEXT = ESIGN_V1
# Every wording ever used, by version: a certificate names the one its signer saw.
CONSENT_TEXTS = {"esign-v1": ESIGN_V1}


def consent_sha256(text: str = CONSENT_TEXT) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def consent_json() -> dict:
    """The current consent as the ledger records it: ``{"version", "text", "sha256"}``."""
    return {"version": CONSENT_VERSION, "text": CONSENT_TEXT, "sha256": consent_sha256()}
