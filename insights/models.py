"""What adoption metrics count that no other app keeps: sign-ins, as they happen, and the
phrases that make a client's message a "where are we?" question.

A sign-in is recorded by ``insights.receivers`` when Django's ``user_logged_in`` is sent,
which every way of signing in does (the password form, the two-factor code step, accepting
an invitation); ``User.last_login`` is never read, since it keeps only the latest one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount


def login_public_id() -> str:
    return new_public_id("lgn")


class LoginEvent(models.Model):
    """One sign-in of one person. ``firm_staff``: whether they were the firm's when they
    signed in (client figures count only the others, even if the person changes sides)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=login_public_id, editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_events"
    )
    at = models.DateTimeField(default=timezone.now)
    firm_staff = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-public_id"]
        indexes = [
            # Client sign-ins only (the figures never count the firm's): per person over a
            # period, and per day, each read from the index alone.
            models.Index(
                fields=["user", "at"],
                condition=models.Q(firm_staff=False),
                name="insights_login_client_user_at",
            ),
            models.Index(
                fields=["at", "user"],
                condition=models.Q(firm_staff=False),
                name="insights_login_client_at",
            ),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} signed in at {self.at:%Y-%m-%d %H:%M}"


# What clients write when they ask where things stand (migration 0002 adds them; the
# firm's admins change the list).
DEFAULT_STATUS_PHRASES = (
    "where are we",
    "any update",
    "any updates",
    "any news",
    "status update",
    "what is the status",
    "what's the status",
    "progress update",
    "how is it going",
    "is it done",
)


class StatusPhrase(models.Model):
    """A word or phrase that makes a client's message a status question (matched whole-word,
    case-insensitive, spaces between words matching any run of white space)."""

    phrase = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase


class RollupSource(models.TextChoices):
    SIGN_INS = "sign_ins", "client sign-ins per person"
    SIGN_INS_BY_DAY = "sign_ins_by_day", "client sign-ins per day"
    MESSAGES = "messages", "messages per account"


class RolledMonth(models.Model):
    """A closed calendar month (in the firm's time zone) whose rollup rows of one source are
    all written (``insights.rollups``). ``key``: for messages, the fingerprint of the status
    phrases they were counted with; rows counted with other phrases are rebuilt."""

    source = models.CharField(max_length=16, choices=RollupSource.choices)
    month = models.DateField()  # its first day
    key = models.CharField(max_length=64, blank=True, default="")
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "month"], name="insights_rolled_month_once")
        ]

    def __str__(self) -> str:
        return f"{self.source} of {self.month:%Y-%m}"


class MonthlySignIns(models.Model):
    """One client user's sign-ins (``LoginEvent`` with ``firm_staff`` false) in one closed
    month; people without any have no row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    logins = models.PositiveIntegerField()

    class Meta:
        constraints = [
            # Read by a range of months: (month, user) first, so that range is one index scan.
            models.UniqueConstraint(fields=["month", "user"], name="insights_signins_month_once")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.logins} sign-ins in {self.month:%Y-%m}"


class DailySignIns(models.Model):
    """Every client sign-in (``firm_staff`` false) of one day (in the firm's time zone) of a
    closed month, whoever signed in; days without any have no row."""

    day = models.DateField(unique=True)
    logins = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.logins} sign-ins on {self.day}"


class MonthlyMessages(models.Model):
    """One account's messages of one closed month (deleted ones left out): by a client user,
    by the firm's people, and the client ones with a status phrase outside ticket threads.
    Accounts without any message that month have no row."""

    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    client = models.PositiveIntegerField()
    firm = models.PositiveIntegerField()
    status = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "account"], name="insights_messages_month_once"
            )
        ]

    def __str__(self) -> str:
        return f"account {self.account_id}: messages of {self.month:%Y-%m}"
