"""What e-signatures put into threads (``messaging.timeline``) and the ledger kinds they write
(docs/ledger.md, docs/protocol.md).

Every event's payload carries the request's current summary (``signature``: id, title,
status, order, due, overdue, counts, url, the participants with their statuses), so a card
showing the request updates itself in place from whichever event arrives last. Declared
from ``ApprovalsConfig.ready()``.
"""

from __future__ import annotations

from messaging.timeline import EventType, NoticeKind

RENDERER = "approvals/js/signatures.js"

# Notifications: to the people whose turn it is (asked, reminded), to whoever asked when
# someone acts, and to everyone taking part when the request completes, is declined or voided.
ASKED = NoticeKind("signature", "Signature", "asked for your signature in {thread}")
PROGRESS = NoticeKind(
    "signature_progress", "Signature progress", "acted on a signature request in {thread}"
)
CLOSED = NoticeKind(
    "signature_closed", "Signature closed", "closed a signature request in {thread}"
)

REQUESTED = EventType("signature.requested", notifies=ASKED, renderer=RENDERER)
VIEWED = EventType("signature.viewed", renderer=RENDERER)
CONSENTED = EventType("signature.consented", renderer=RENDERER)
APPROVED = EventType("signature.approved", notifies=PROGRESS, renderer=RENDERER)
SIGNED = EventType("signature.signed", notifies=PROGRESS, renderer=RENDERER)
# Those whose turn has come (the next signer in order, or every signer after the approvers).
TURN = EventType("signature.turn", notifies=ASKED, renderer=RENDERER)
# A reminder changes nothing in the thread's history: only the card (now due soon).
REMINDED = EventType("signature.reminded", in_history=False, notifies=ASKED, renderer=RENDERER)
DECLINED = EventType("signature.declined", notifies=CLOSED, renderer=RENDERER)
VOIDED = EventType("signature.voided", notifies=CLOSED, renderer=RENDERER)
COMPLETED = EventType("signature.completed", notifies=CLOSED, renderer=RENDERER)
# The certificate of completion and the sealed PDF are in the vault.
SEALED = EventType("signature.sealed", renderer=RENDERER)

DECLARATIONS = (
    ASKED,
    PROGRESS,
    CLOSED,
    REQUESTED,
    VIEWED,
    CONSENTED,
    APPROVED,
    SIGNED,
    TURN,
    REMINDED,
    DECLINED,
    VOIDED,
    COMPLETED,
    SEALED,
)

# The ledger's kinds (docs/ledger.md): one entry per step, subject the request's public id.
LEDGER_REQUESTED = "signature.requested"
LEDGER_VIEWED = "signature.viewed"
LEDGER_CONSENTED = "signature.consented"
LEDGER_APPROVED = "signature.approved"
LEDGER_SIGNED = "signature.signed"
LEDGER_DECLINED = "signature.declined"
LEDGER_VOIDED = "signature.voided"
LEDGER_COMPLETED = "signature.completed"
LEDGER_SEALED = "signature.sealed"
