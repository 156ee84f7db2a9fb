"""Threads, their numbered events, messages and read state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount, Matter


def thread_public_id() -> str:
    return new_public_id("thr")


def message_public_id() -> str:
    return new_public_id("msg")


class Thread(models.Model):
    """A conversation that belongs to a client account (optionally to one of its matters).

    ``last_seq`` is the number of the thread's newest event; services advance it inside the
    writing transaction, so numbers are gap-free and unique even with several writers.
    A thread of a privileged matter is privileged: only users granted the thread see it.
    """

    public_id = models.CharField(
        max_length=40, unique=True, default=thread_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="threads")
    matter = models.ForeignKey(
        Matter, on_delete=models.SET_NULL, null=True, blank=True, related_name="threads"
    )
    title = models.CharField(max_length=200)
    privileged = models.BooleanField(default=False)
    is_general = models.BooleanField(default=False, editable=False)
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # How many of its messages are not deleted; kept in the statement that numbers the
    # message (or its deletion), so that an unread count is a subtraction
    # (``ReadState.read_count``).
    message_count = models.PositiveBigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # When the e-mail digest about this thread's unread messages is due; set by the first
    # message after the previous digest, cleared by the digest task.
    digest_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the thread stopped taking messages (its owner ended it, like a closed ticket);
    # None while open. Other apps' events are still appended to a closed thread.
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-last_activity_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(is_general=True),
                name="messaging_one_general_thread",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    public_id = models.CharField(
        max_length=40, unique=True, default=message_public_id, editable=False
    )
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    client_id = models.UUIDField()
    body = models.TextField()
    # Files shared with the message, as the app that stores them describes them (the vault:
    # document, version, name, size, type, download link); shown as they are, never parsed.
    attachments = models.JSONField(default=list, blank=True, editable=False)
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [
            # A retried send (same sender, same client id) is stored once.
            models.UniqueConstraint(
                fields=["author", "client_id"], name="messaging_message_idempotent"
            ),
        ]
        indexes = [
            # The messages of a period (adoption metrics count them per account and side).
            models.Index(fields=["created_at"], name="messaging_message_created"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} in {self.thread_id}"


class Event(models.Model):
    """One numbered event of a thread, with the frame subscribers receive, encoded once."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=32)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, related_name="events")
    frame = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "seq"], name="messaging_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} of thread {self.thread_id}"


class ReadState(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_states"
    )
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_states")
    last_read_seq = models.PositiveBigIntegerField(default=0)
    # How many of the thread's undeleted messages are not unread to the user: those up to
    # ``last_read_seq`` and the user's own. The unread count is the thread's
    # ``message_count`` minus this; ``messaging.services`` keeps it as messages are sent,
    # deleted and read.
    read_count = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="messaging_read_state_unique"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} read thread {self.thread_id} to #{self.last_read_seq}"


def notification_public_id() -> str:
    return new_public_id("ntf")


class Notification(models.Model):
    """Something that asks for one person's attention (an @mention of them, a document
    added where they follow), stored until read. New messages in followed threads are
    counted from read state instead of being copied per recipient."""

    public_id = models.CharField(
        max_length=40, unique=True, default=notification_public_id, editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # A kind declared by the app that sends it (``messaging.timeline.NoticeKind``): open, so
    # that apps add theirs; one no installed app declares still reads (neutrally).
    kind = models.CharField(max_length=32)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # For notifications about a thread event that is not a message (a document added, a
    # matter's status changed): the event's number and a line that describes it.
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="messaging_notif_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}"


class ThreadMute(models.Model):
    """A person who does not follow a thread they can read: no e-mail about it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="mutes")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="messaging_thread_mute_unique")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} muted thread {self.thread_id}"


class DigestState(models.Model):
    """How far one person has been e-mailed about one thread, so no message is e-mailed twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    emailed_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="messaging_digest_state_unique")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} e-mailed about thread {self.thread_id} to #{self.emailed_seq}"


class Channel(models.TextChoices):
    """How a person is told of one kind of thing (``messaging.preferences``)."""

    LIVE = "live", "In the portal only"
    EMAIL = "email", "In the portal and by e-mail"
    DIGEST = "digest", "In the portal and in a daily e-mail"
    OFF = "off", "Off"


class NotificationPreference(models.Model):
    """One person's choice for one kind of notification, stored only where it differs from
    the default (``messaging.preferences.DEFAULT_CHANNEL``). ``kind`` is ``messages`` (new
    messages in threads they follow) or a declared ``NoticeKind``'s value."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="messaging_notification_preference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.kind} {self.channel}"


class DailyDigest(models.Model):
    """When a person who chose the daily e-mail for something gets their next one, and what
    it covers (everything since ``covered_until``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_digest"
    )
    due_at = models.DateTimeField(db_index=True)
    covered_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"daily digest of user {self.user_id} due {self.due_at:%Y-%m-%d %H:%M}"
