"""Support tickets of client accounts: categories, routing rules, queues, the firm's business
calendar and the SLA clocks.

A ticket is a conversation with a state. Its replies are messages of its own thread (so they
travel live, are read, notified and e-mailed like any message); the ticket row holds what a
thread does not: the category, the priority, who it is assigned to, the status and the SLA
clock.

The SLA clock (``support.clock``) counts business seconds of the firm's calendar while the
ticket is not waiting on the client: ``sla_used_seconds`` were counted up to
``sla_running_since``; while it runs, the first-response and resolution due times follow from
what is left of each target. Both targets share the one clock: they start together, pause
together, and each stops at its own moment (the first staff reply, the resolution), when the
business seconds used so far are kept on the ticket.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount
from messaging.models import Thread


def ticket_public_id() -> str:
    return new_public_id("tkt")


def category_public_id() -> str:
    return new_public_id("cat")


def queue_public_id() -> str:
    return new_public_id("que")


def rule_public_id() -> str:
    return new_public_id("rul")


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    WAITING_ON_FIRM = "waiting_on_firm", "Waiting on firm"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Statuses in which the ticket still needs the firm (its resolution clock may run).
ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.WAITING_ON_FIRM)
# Statuses of a ticket nobody needs to act on any more.
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class SupportSettings(models.Model):
    """The firm's support calendar and rules. Exactly one row (``support.settings.current``).

    ``hours``: for each weekday (``"mon"`` … ``"sun"``) a list of ``["HH:MM", "HH:MM"]``
    working intervals in ``time_zone``; a day with none is closed. ``holidays``: dates
    (``"YYYY-MM-DD"``) that are closed all day."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)
    # A client's reply to a resolved ticket within this many days reopens it; after that the
    # ticket is closed and a reply asks for a new ticket.
    reopen_days = models.PositiveSmallIntegerField(default=7)
    # How long before an SLA target the assignee is warned (business time is not used here:
    # the warning is about the wall clock they will meet).
    warn_minutes = models.PositiveIntegerField(default=60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "support settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True), name="support_settings_singleton"
            ),
        ]

    def __str__(self) -> str:
        return "Support settings"


class Category(models.Model):
    """What a ticket is about. Firm-wide (``account`` empty) or offered to one account only.
    ``is_status``: its tickets are "where are we?" questions (adoption metrics count them)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=category_public_id, editable=False
    )
    account = models.ForeignKey(
        ClientAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="support_categories",
    )
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    is_status = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """The first-response and resolution targets of one category at one priority, in business
    minutes. None: no target of that kind."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.CharField(max_length=8, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"], name="support_sla_target_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} at {self.priority}"


class Queue(models.Model):
    """A named team of staff that tickets are routed to, one at a time in turn among those
    available (``support.routing``). ``last_assigned`` is whose turn came last."""

    public_id = models.CharField(
        max_length=40, unique=True, default=queue_public_id, editable=False
    )
    name = models.CharField(max_length=80, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="support_queues")
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Where a new ticket goes. Rules are tried in ``position`` order; the first whose
    conditions all hold (empty ones hold for any ticket) wins. ``keywords``: words or phrases,
    one per line, any of which in the subject or body matches (case-insensitive, whole
    words). The target is a staff member or a queue (exactly one)."""

    public_id = models.CharField(max_length=40, unique=True, default=rule_public_id, editable=False)
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=80)
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    account = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    keywords = models.TextField(blank=True)
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(assign_to__isnull=False, queue__isnull=True)
                    | models.Q(assign_to__isnull=True, queue__isnull=False)
                ),
                name="support_rule_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    public_id = models.CharField(
        max_length=40, unique=True, default=ticket_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="tickets")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="tickets")
    thread = models.OneToOneField(Thread, on_delete=models.PROTECT, related_name="ticket")
    subject = models.CharField(max_length=200)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(
        max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets_opened"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets_assigned",
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    # Which routing rule placed it (None: the account team's fallback, or reassigned by hand).
    routed_by = models.ForeignKey(
        RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The SLA targets copied from the category when the ticket was opened or its priority
    # changed (business minutes; None: no target).
    first_response_target = models.PositiveIntegerField(null=True, blank=True)
    resolution_target = models.PositiveIntegerField(null=True, blank=True)
    # The clock: business seconds used up to ``sla_running_since`` (None: paused or stopped).
    sla_used_seconds = models.PositiveBigIntegerField(default=0)
    sla_running_since = models.DateTimeField(null=True, blank=True)
    # Wall-clock due times while the clock runs (None while paused, stopped, or no target);
    # kept so that queues sort and the warning task finds them with an index.
    first_response_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Warnings sent before a target passes, and targets missed (at most once per ticket and
    # target; a reopened ticket's resolution warning may come again).
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    reopened_count = models.PositiveIntegerField(default=0)
    # The seq of the last message of the thread whose rules were applied (the opening message
    # included): a reply is applied once, whichever path (the API, a socket's send, the
    # on-commit signal) brings it first.
    reply_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "status"], name="support_ticket_account_status"),
            models.Index(fields=["assignee", "status"], name="support_ticket_assignee_status"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id}: {self.subject}"
