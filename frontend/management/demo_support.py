"""The demo's support desk (``seed_demo``): ticket categories with SLA targets, the
"Implementation engineers" queue, two routing rules, the firm's hours and holidays, and three
Acme tickets in different states, all through the support services.

Idempotent like the rest of the demo: a category, queue or rule of that name, a calendar
with hours, a ticket of that subject are left as they are; what is missing is made."""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.utils import timezone

from accounts.models import ClientAccount, User
from support import services as tickets
from support import settings as support_settings
from support.models import Category, Queue, RoutingRule, Ticket, TicketStatus
from support.services import categories, queues
from support.services import settings as support_writes

# (name, description, is_status, {priority: (first response, resolution)} in business minutes)
CATEGORIES = [
    (
        "Technical question",
        "Something does not work, or you want to know how it should.",
        False,
        {
            "urgent": (30, 240),
            "high": (60, 480),
            "normal": (240, 1440),
            "low": (480, 2880),
        },
    ),
    (
        "Billing",
        "Invoices, payments and what the work costs.",
        False,
        {"high": (240, 960), "normal": (480, 2400), "low": (960, None)},
    ),
    (
        "Project status",
        "Where things stand, and what comes next.",
        True,
        {"high": (120, None), "normal": (240, None), "low": (480, None)},
    ),
    ("Access and accounts", "Signing in, people to add or remove.", False, {"normal": (120, 480)}),
]
QUEUE = "Implementation engineers"
QUEUE_MEMBERS = ["staff@atrium.test", "counsel@atrium.test"]
# (name, keywords, category name, target queue or person)
RULES = [
    ("Integrations to the engineers", "API\nSSO\nintegration", None, ("queue", QUEUE)),
    ("Billing to Ada", "", "Billing", ("person", "admin@atrium.test")),
]
HOURS = {day: ["09:00-17:30"] for day in ("mon", "tue", "wed", "thu", "fri")}
# (subject, category, priority, opened by, body, what happened since)
TICKETS = [
    (
        "SSO sign-in fails for our new starters",
        "Technical question",
        "high",
        "client@acme.test",
        "Three people who joined this week get an error after the SSO page. Can you look?",
        "answered",
    ),
    (
        "Where are we with the help desk migration?",
        "Project status",
        "normal",
        "member@acme.test",
        "Our support lead asks whether the switch-over is still planned for the end of the month.",
        "open",
    ),
    (
        "The last invoice shows our old address",
        "Billing",
        "normal",
        "client@acme.test",
        "We moved in the summer; could the invoice go out again with the new address?",
        "resolved",
    ),
]
_NAMESPACE = uuid.UUID("0f1d6b0e-8d3b-4d43-9a43-5f9f1c2a7e11")


def _holidays(today: date) -> list[str]:
    """The next Christmas Day and New Year's Day."""
    christmas = date(today.year, 12, 25)
    if christmas < today:
        christmas = date(today.year + 1, 12, 25)
    return [christmas.isoformat(), date(christmas.year + 1, 1, 1).isoformat()]


def seed_support(*, accounts: dict[str, ClientAccount], people: dict[str, User]) -> None:
    admin = people["admin@atrium.test"]
    made: dict[str, Category] = {}
    for name, description, is_status, targets in CATEGORIES:
        category = Category.objects.filter(name=name, account=None).first()
        if category is None:
            category = categories.category_create(
                actor=admin, name=name, description=description, is_status=is_status
            )
            categories.sla_targets_set(
                actor=admin,
                category=category,
                targets={
                    priority: {"first_response_minutes": first, "resolution_minutes": resolution}
                    for priority, (first, resolution) in targets.items()
                },
            )
        made[name] = category
    queue = Queue.objects.filter(name=QUEUE).first()
    if queue is None:
        queue = queues.queue_create(
            actor=admin, name=QUEUE, members=[people[email] for email in QUEUE_MEMBERS]
        )
    for name, keywords, category_name, (kind, target) in RULES:
        if RoutingRule.objects.filter(name=name).exists():
            continue
        queues.rule_create(
            actor=admin,
            name=name,
            keywords=keywords,
            category=made[category_name] if category_name else None,
            queue=queue if kind == "queue" else None,
            assign_to=people[target] if kind == "person" else None,
        )
    found = support_settings.current()
    if not any(found.hours.values() if isinstance(found.hours, dict) else []):
        support_writes.support_settings_update(
            actor=admin,
            time_zone=settings.TIME_ZONE,
            hours=HOURS,
            holidays=_holidays(timezone.localdate()),
        )
    _seed_tickets(accounts["acme"], people, made)


def _seed_tickets(account: ClientAccount, people: dict[str, User], made: dict) -> None:
    staff = people["staff@atrium.test"]
    for n, (subject, category, priority, opener, body, fate) in enumerate(TICKETS):
        if Ticket.objects.filter(account=account, subject=subject).exists():
            continue
        ticket = tickets.ticket_open(
            actor=people[opener],
            account=account,
            category=made[category],
            subject=subject,
            body=body,
            priority=priority,
        )
        if fate in ("answered", "resolved"):
            tickets.ticket_reply(
                actor=staff,
                ticket=ticket,
                body=(
                    "Thanks, we can see it: the new accounts were not in the SSO group. "
                    "Could they try again now?"
                    if fate == "answered"
                    else "Done: the invoice went out again with your new address."
                ),
                client_id=uuid.uuid5(_NAMESPACE, f"ticket:{n}"),
            )
        if fate == "resolved":
            tickets.ticket_update(actor=staff, ticket=ticket, status=TicketStatus.RESOLVED)
