"""What billing puts into threads (``messaging.timeline``) and the ledger kinds it writes.

Events go into the account's General thread (``Priced.thread``), which every person of the
account and its team reads; drafts never make an event. Every payload carries ``summary``
(the sentence the line shows) and the document's current card (``invoice`` or ``proposal``:
id, number or title, status, total, balance, currency, url), so a card updates itself in
place from whichever event arrives last. Declared from ``BillingConfig.ready()``.
"""

from __future__ import annotations

from messaging.timeline import EventType, NoticeKind

RENDERER = "billing/js/timeline.js"

# To the client's people: an invoice or a proposal for them, a reminder, a void or credit.
# To the account team: a payment, a proposal accepted or declined, a client's first view.
INVOICE = NoticeKind("invoice", "Invoice", "sent an invoice in {thread}")
PAYMENT = NoticeKind("payment", "Payment", "recorded a payment in {thread}")
PROPOSAL = NoticeKind("proposal", "Proposal", "sent a proposal in {thread}")
PROPOSAL_DECIDED = NoticeKind(
    "proposal_decided", "Proposal decision", "decided on a proposal in {thread}"
)

INVOICE_SENT = EventType("invoice.sent", notifies=INVOICE, renderer=RENDERER)
# The client's first opening of a sent invoice (later views are in the ledger only).
INVOICE_VIEWED = EventType("invoice.viewed", renderer=RENDERER)
INVOICE_PAYMENT = EventType("invoice.payment", notifies=PAYMENT, renderer=RENDERER)
INVOICE_CREDITED = EventType("invoice.credited", notifies=INVOICE, renderer=RENDERER)
INVOICE_VOIDED = EventType("invoice.voided", notifies=INVOICE, renderer=RENDERER)
# A reminder changes nothing in the thread's history: only the card (due soon, overdue).
INVOICE_REMINDED = EventType(
    "invoice.reminded", in_history=False, notifies=INVOICE, renderer=RENDERER
)
PROPOSAL_SENT = EventType("proposal.sent", notifies=PROPOSAL, renderer=RENDERER)
PROPOSAL_VIEWED = EventType("proposal.viewed", renderer=RENDERER)
PROPOSAL_ACCEPTED = EventType("proposal.accepted", notifies=PROPOSAL_DECIDED, renderer=RENDERER)
PROPOSAL_DECLINED = EventType("proposal.declined", notifies=PROPOSAL_DECIDED, renderer=RENDERER)
PROPOSAL_WITHDRAWN = EventType("proposal.withdrawn", notifies=PROPOSAL, renderer=RENDERER)

DECLARATIONS = (
    INVOICE,
    PAYMENT,
    PROPOSAL,
    PROPOSAL_DECIDED,
    INVOICE_SENT,
    INVOICE_VIEWED,
    INVOICE_PAYMENT,
    INVOICE_CREDITED,
    INVOICE_VOIDED,
    INVOICE_REMINDED,
    PROPOSAL_SENT,
    PROPOSAL_VIEWED,
    PROPOSAL_ACCEPTED,
    PROPOSAL_DECLINED,
    PROPOSAL_WITHDRAWN,
)

# The ledger's kinds (docs/ledger.md): subject is the invoice's or proposal's public id.
LEDGER_INVOICE_SENT = "invoice.sent"
LEDGER_INVOICE_VIEWED = "invoice.viewed"
LEDGER_INVOICE_PAYMENT = "invoice.payment"
LEDGER_INVOICE_CREDITED = "invoice.credited"
LEDGER_INVOICE_VOIDED = "invoice.voided"
LEDGER_PROPOSAL_SENT = "proposal.sent"
LEDGER_PROPOSAL_VIEWED = "proposal.viewed"
LEDGER_PROPOSAL_ACCEPTED = "proposal.accepted"
LEDGER_PROPOSAL_DECLINED = "proposal.declined"
LEDGER_PROPOSAL_WITHDRAWN = "proposal.withdrawn"
