"""Users, the firm, client accounts, their people and their matters.

Row invariants live here; every write that involves a rule (who may do it, which grants
follow) goes through ``accounts.services``.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Func
from django.db.models.functions import SHA256, Lower
from django.utils import timezone

from accounts.ids import (
    account_public_id,
    invitation_public_id,
    matter_public_id,
    session_public_id,
    user_public_id,
)

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #RRGGBB.")


def _avatar_name(instance: User, filename: str) -> str:
    # Random, never derived from the uploader's file name; the bytes are always re-encoded
    # as PNG (``accounts.services.profile``), whatever was uploaded.
    return f"avatars/{secrets.token_hex(16)}.png"


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and stored lower-cased."""
    return (email or "").strip().lower()


class FirmRole(models.TextChoices):
    ADMIN = "admin", "Firm admin"
    STAFF = "staff", "Staff"
    NONE = "", "Client user"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.pop("is_staff", None)
        fields.pop("is_superuser", None)
        fields["firm_role"] = FirmRole.ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: firm staff (admin or staff) or a client user."""

    public_id = models.CharField(max_length=40, unique=True, default=user_public_id, editable=False)
    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=150)
    firm_role = models.CharField(max_length=8, choices=FirmRole.choices, blank=True, default="")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # An IANA zone name; blank means the deployment's TIME_ZONE. Pages show times in it.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # A square PNG re-encoded from the upload (``accounts.services.profile``).
    avatar = models.ImageField(upload_to=_avatar_name, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        # Firm admins run the deployment: they are the Django admin's superusers. Object
        # grants on privileged items are still checked explicitly (accounts.permissions).
        self.is_superuser = self.firm_role == FirmRole.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "firm_role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_superuser"}
        super().save(*args, **kwargs)

    @property
    def is_staff(self) -> bool:
        """Access to the Django admin: firm admins only."""
        return self.is_active and self.firm_role == FirmRole.ADMIN

    @property
    def is_firm_admin(self) -> bool:
        return self.firm_role == FirmRole.ADMIN

    @property
    def is_firm_staff(self) -> bool:
        """Firm admins and staff: the people who serve the clients."""
        return self.firm_role in (FirmRole.ADMIN, FirmRole.STAFF)

    @property
    def initials(self) -> str:
        parts = [p for p in (self.name or "").split() if p[:1].isalpha()]
        if len(parts) >= 2:
            return (parts[0][0] + parts[-1][0]).upper()
        if parts:
            return parts[0][:2].upper()
        return (self.email[:2] or "?").upper()

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split()[0] if self.name else self.email


def _logo_name(instance: Firm, filename: str) -> str:
    # The stored name never derives from the uploader's file name.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    if extension not in {"png", "jpg", "jpeg", "gif", "webp"}:
        extension = "png"
    return f"branding/logo-{secrets.token_hex(8)}.{extension}"


class MatterWord(models.TextChoices):
    """What the firm calls a piece of work done for a client, on every page and e-mail."""

    MATTER = "Matter", "Matter"
    PROJECT = "Project", "Project"
    ENGAGEMENT = "Engagement", "Engagement"


class Firm(models.Model):
    """The firm that runs this deployment, and its branding. Exactly one row."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    name = models.CharField(max_length=120, default="Atrium")
    logo = models.ImageField(upload_to=_logo_name, blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f3a5f", validators=[hex_colour])
    accent_colour = models.CharField(max_length=7, default="#e07a2f", validators=[hex_colour])
    support_email = models.EmailField(blank=True)
    matter_word = models.CharField(
        max_length=20, choices=MatterWord.choices, default=MatterWord.MATTER
    )
    # Whether firm admins and staff must use two-factor sign-in; None follows the
    # deployment's ATRIUM_REQUIRE_TWO_FACTOR (on in production, off in development).
    require_two_factor = models.BooleanField(null=True, blank=True, default=None)
    # Whether a client account's admins may add versions to documents the firm uploaded
    # (client members never may; ``accounts.permissions.can_on_document``).
    clients_may_version = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True), name="accounts_firm_singleton"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # The client's own people are shut out (unpaid, in dispute, offboarding); the firm's
    # team still sees and works on everything. Lifting it lets them back in.
    SUSPENDED = "suspended", "Suspended"
    ARCHIVED = "archived", "Archived"


class ClientAccount(models.Model):
    """A client of the firm: a company or person with people, a team, and matters."""

    public_id = models.CharField(
        max_length=40, unique=True, default=account_public_id, editable=False
    )
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(
        max_length=12, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now)
    # One group per role; guardian object permissions on this account are granted to
    # the groups, and memberships and team assignments move users in and out of them.
    members_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="+", editable=False
    )
    admins_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="+", editable=False
    )
    team_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # A legal hold preserves the account's records: while it is set, nothing that destroys
    # them (such as shredding the vault key) may run. Set and released by firm admins.
    legal_hold = models.BooleanField(default=False, editable=False)
    legal_hold_reason = models.CharField(max_length=300, blank=True, editable=False)
    legal_hold_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    legal_hold_changed_by = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["name"]
        permissions = [("invite_clientaccount", "Can invite people to the client account")]

    def __str__(self) -> str:
        return self.name


class ClientRole(models.TextChoices):
    ADMIN = "admin", "Client admin"
    MEMBER = "member", "Client member"


class Membership(models.Model):
    """A client user's place in a client account."""

    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=ClientRole.choices, default=ClientRole.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account__name", "user__name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="accounts_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.get_role_display()})"


class TeamAssignment(models.Model):
    """A staff member on a client account's team."""

    account = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, related_name="team_assignments"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_assignments")
    title = models.CharField(
        max_length=80, blank=True, help_text="Shown to the client, e.g. 'Account lead'."
    )
    # The client's first point of contact, shown to them as their account lead.
    lead = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account__name", "user__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "user"], name="accounts_team_assignment_unique"
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(lead=True),
                name="accounts_team_one_lead",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.account}"


class MatterStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    ON_HOLD = "on_hold", "On hold"
    DONE = "done", "Done"


class Matter(models.Model):
    """A piece of work done for a client account (a project, an engagement, a legal matter).

    A privileged matter is visible only to the users explicitly granted it, never through
    membership of the account alone.
    """

    public_id = models.CharField(
        max_length=40, unique=True, default=matter_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="matters")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=MatterStatus.choices, default=MatterStatus.PLANNED
    )
    privileged = models.BooleanField(default=False)
    # The plan (``projects``): when the work starts and should end, and who on the account
    # team answers for it.
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__name", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(target_date__isnull=True)
                | models.Q(target_date__gte=models.F("start_date")),
                name="accounts_matter_target_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Invitation(models.Model):
    """An e-mailed, single-use, expiring invitation into a client account.

    Only a SHA-256 digest of the link's token is stored, so a copy of the database does not
    hold usable links.
    """

    public_id = models.CharField(
        max_length=40, unique=True, default=invitation_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=8, choices=ClientRole.choices, default=ClientRole.MEMBER)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.account}"

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AccessChange(models.Model):
    """A note that one person's access was reduced: deactivated, password changed or reset,
    a session ended, a membership, team place, group or privileged grant withdrawn.

    Written inside the transaction that makes the change (``accounts.access_log``), by
    whatever made it: a service, the admin, a shell, another process. Every worker reads
    the recent notes about twice a second and re-checks the open sockets of the people
    named, so a change reaches them even when nothing else tells the worker. Old notes are
    pruned. ``user_id`` is a plain number, not a foreign key: a deleted person is noted too.
    """

    user_id = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"access of user {self.user_id} reduced at {self.at:%Y-%m-%d %H:%M:%S}"


# The session engines whose sessions are rows that can be listed and deleted by key.
SESSION_INDEXED_ENGINES = frozenset(
    {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}
)


def session_digest(session_key: str) -> str:
    """What the session index keeps of a session key (SHA-256, hex), as the database's
    ``SHA256`` computes it."""
    return hashlib.sha256(session_key.encode("utf-8")).hexdigest()


class SessionKeyDigest(SHA256):
    """``session_digest`` computed by the database. On PostgreSQL with the built-in
    ``sha256()`` (Django's ``SHA256`` there needs the pgcrypto extension)."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return Func.as_sql(
            self,
            compiler,
            connection,
            template="ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')",
            **extra_context,
        )


class SignedInSession(models.Model):
    """One browser signed in as a person: the index of sessions by person, for the list on
    the security page and for ending them. Written when someone signs in
    (``accounts.services.sessions``) and deleted with its session.

    Only a SHA-256 digest of the session key is kept: this table never holds what would
    let its reader act as someone.
    """

    public_id = models.CharField(
        max_length=40, unique=True, default=session_public_id, editable=False
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    signed_in_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    # "Firefox on Windows", read from the user agent once, at sign-in.
    device = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user} on {self.device or 'an unknown browser'}"
