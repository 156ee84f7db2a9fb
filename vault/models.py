"""The vault: folders, documents and their versions, the keys that seal them, and the record
of every access. Content lives encrypted in the vault storage (``docs/vault-format.md``);
rows hold only wrapped keys, digests and metadata."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount, Matter


def folder_public_id() -> str:
    return new_public_id("fld")


def document_public_id() -> str:
    return new_public_id("doc")


def version_public_id() -> str:
    return new_public_id("ver")


def upload_public_id() -> str:
    return new_public_id("upl")


def thumbnail_public_id() -> str:
    return new_public_id("thm")


class AccountKey(models.Model):
    """A client account's key, wrapped by a master key. Shredding forgets the wrapped key,
    which makes every version of the account unreadable; the row stays as the record."""

    account = models.OneToOneField(
        ClientAccount, on_delete=models.PROTECT, related_name="vault_key"
    )
    wrapped_key = models.BinaryField(null=True, editable=False)
    master_key_id = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rewrapped_at = models.DateTimeField(null=True, blank=True, editable=False)
    shredded_at = models.DateTimeField(null=True, blank=True, editable=False)
    shredded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    shred_reason = models.CharField(max_length=300, blank=True, editable=False)

    def __str__(self) -> str:
        return f"vault key of {self.account}"

    @property
    def shredded(self) -> bool:
        return self.shredded_at is not None


class Folder(models.Model):
    """A named place for documents inside one client account; folders nest."""

    public_id = models.CharField(
        max_length=40, unique=True, default=folder_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=120)
    # The account's one "Shared in conversations" folder, where files attached in its
    # threads land (``vault.services.folders.shared_folder``).
    for_conversations = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(for_conversations=True),
                name="vault_folder_one_for_conversations",
            ),
            models.UniqueConstraint(
                fields=["account", "parent", "name"], name="vault_folder_unique_name"
            ),
            models.UniqueConstraint(
                fields=["account", "name"],
                condition=models.Q(parent__isnull=True),
                name="vault_folder_unique_top_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """A document of a client account, with one or more versions. A privileged document is
    visible only to users granted it explicitly (``accounts.permissions``)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=document_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="documents")
    folder = models.ForeignKey(
        Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    matter = models.ForeignKey(
        Matter, on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    privileged = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version_count = models.PositiveIntegerField(default=0, editable=False)
    latest_version = models.ForeignKey(
        "Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["account", "-updated_at"])]

    def __str__(self) -> str:
        return self.title


class Version(models.Model):
    """One uploaded file of a document. ``storage_name`` is random, never the user's file
    name; ``wrapped_data_key`` is the version's data key wrapped by the account key."""

    public_id = models.CharField(
        max_length=40, unique=True, default=version_public_id, editable=False
    )
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=120)
    storage_name = models.CharField(max_length=200, unique=True, editable=False)
    stored_size = models.PositiveBigIntegerField(editable=False)
    wrapped_data_key = models.BinaryField(editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="vault_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"


class Thumbnail(models.Model):
    """A small picture of an image version, made at upload and sealed like a version: its own
    data key, wrapped by the account key for the thumbnail's id, which the sealed header
    names (``docs/vault-format.md``). Its pixels carry no metadata of the original."""

    public_id = models.CharField(
        max_length=40, unique=True, default=thumbnail_public_id, editable=False
    )
    version = models.OneToOneField(Version, on_delete=models.CASCADE, related_name="thumbnail")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=40)
    storage_name = models.CharField(max_length=200, unique=True, editable=False)
    stored_size = models.PositiveBigIntegerField(editable=False)
    wrapped_data_key = models.BinaryField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"thumbnail of {self.version}"


class UploadSession(models.Model):
    """A resumable upload that arrives in parts (one request each), for files of any size.

    The parts are sealed into a spool file as they come, in order; the version's data key is
    kept wrapped by the account key until the upload completes. Which document it creates (or
    which document it adds a version to) is fixed when the session is opened, and checked
    again at each part and at completion.
    """

    public_id = models.CharField(
        max_length=40, unique=True, default=upload_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    received = models.PositiveBigIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True, max_length=2000)
    folder = models.ForeignKey(
        Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    matter = models.ForeignKey(
        Matter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    privileged = models.BooleanField(default=False)
    # A file shared in a conversation: the message that carries it, posted on completion.
    thread = models.ForeignKey(
        "messaging.Thread", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    version_public_id = models.CharField(max_length=40, unique=True, default=version_public_id)
    wrapped_data_key = models.BinaryField(editable=False)
    content_type = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"upload {self.public_id} ({self.received}/{self.size})"


class AccessKind(models.TextChoices):
    VIEW = "view", "Viewed"
    DOWNLOAD = "download", "Downloaded"
    UPLOAD = "upload", "Uploaded"


class AccessOutcome(models.TextChoices):
    STARTED = "started", "Started"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"


class AccessRecord(models.Model):
    """Who viewed, downloaded or uploaded a version, when and from where. A download is
    recorded as started before the first byte and completed or failed at the end."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="accesses")
    version = models.ForeignKey(
        Version, on_delete=models.CASCADE, null=True, blank=True, related_name="accesses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=AccessKind.choices)
    outcome = models.CharField(
        max_length=8, choices=AccessOutcome.choices, default=AccessOutcome.COMPLETE
    )
    detail = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)
    bytes_sent = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["document", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.document_id} by {self.user_id}"
