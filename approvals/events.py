"""What approvals put into threads (``messaging.timeline``) and the ledger kinds it writes.

Every event's payload carries the request's current summary (``approval``: id, title,
status, policy, counts, due, overdue, url), so that a card showing the request updates itself
in place from whichever event arrives last. Declared from ``ApprovalsConfig.ready()``.
"""

from __future__ import annotations

from messaging.timeline import EventType, NoticeKind

RENDERER = "approvals/js/timeline.js"

# Notifications: to the approvers when they are asked (a new request, a new round, the
# reminder before the due date), to whoever asked when someone decides, and to everyone
# involved when a request is withdrawn or expires.
ASKED = NoticeKind("approval", "Approval", "asked for your approval in {thread}")
DECIDED = NoticeKind(
    "approval_decided", "Approval decision", "decided on an approval request in {thread}"
)
CLOSED = NoticeKind("approval_closed", "Approval closed", "closed an approval request in {thread}")

REQUESTED = EventType("approval.requested", notifies=ASKED, renderer=RENDERER)
REOPENED = EventType("approval.reopened", notifies=ASKED, renderer=RENDERER)
# A reminder changes nothing in the thread's history: only the card (now due soon).
REMINDED = EventType("approval.reminded", in_history=False, notifies=ASKED, renderer=RENDERER)
DECIDED_EVENT = EventType("approval.decided", notifies=DECIDED, renderer=RENDERER)
CLOSED_EVENT = EventType("approval.closed", notifies=CLOSED, renderer=RENDERER)

DECLARATIONS = (ASKED, DECIDED, CLOSED, REQUESTED, REOPENED, REMINDED, DECIDED_EVENT, CLOSED_EVENT)

# The ledger's kinds (docs/ledger.md): one entry per transition, decision and view receipt.
LEDGER_REQUESTED = "approval.requested"
LEDGER_VIEWED = "approval.viewed"
LEDGER_DECIDED = "approval.decided"
LEDGER_REOPENED = "approval.reopened"
# A request closing: "approval." + its new status.
LEDGER_CLOSED_PREFIX = "approval."
