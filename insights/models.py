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


# The phrases a new deployment starts with (migration 0002 adds them; admins change them).
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
