"""What support puts into threads (``messaging.timeline``).

Each ticket has a thread of its own; its events go there. Every payload carries
``{"ticket": ticket_json}`` (``support.selectors.ticket_json``), so a ticket's header on a
page updates in place from whichever event arrives last. Declared from
``SupportConfig.ready()``.
"""

from __future__ import annotations

from messaging.timeline import EventType, NoticeKind

RENDERER = "support/js/timeline.js"

# To the person a ticket is given to (opened and routed to them, or reassigned to them).
ASSIGNED = NoticeKind("ticket", "Ticket", "gave you a ticket in {thread}")
# To the assignee (or the account team of an unassigned ticket) before a target passes.
SLA_WARNING = NoticeKind("ticket_sla", "Ticket target", "flagged a ticket target in {thread}")

OPENED = EventType("ticket.opened", notifies=ASSIGNED, renderer=RENDERER)
# Status, assignee or priority changed (notifies only a new assignee).
UPDATED = EventType("ticket.updated", notifies=ASSIGNED, renderer=RENDERER)
# A target is close or has passed: the header's chips change, the history does not.
WARNING = EventType("ticket.sla_warning", in_history=False, notifies=SLA_WARNING, renderer=RENDERER)

DECLARATIONS = (ASSIGNED, SLA_WARNING, OPENED, UPDATED, WARNING)
