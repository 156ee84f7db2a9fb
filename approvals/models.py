"""Approval requests on vault document versions, the approvers' decisions and their receipts
of what they were shown.

A request is decided in rounds: a new version of one of its documents starts the next round on
the newest versions, and the decisions of earlier rounds stay as history. Every row that a
dispute could turn on (a decision, a receipt) carries the SHA-256 of the bytes it is about and
the index of the evidence-ledger entry that records it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount


def approval_public_id() -> str:
    return new_public_id("apr")


def decision_public_id() -> str:
    return new_public_id("dec")


class PolicyKind(models.TextChoices):
    ALL = "all", "Every approver"
    ANY = "any", "Any one approver"
    AT_LEAST = "at_least", "At least N approvers"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECT = "reject", "Rejected"


class ApprovalRequest(models.Model):
    """A request to the approvers to approve one or more document versions of a client
    account. ``required`` is how many approvals the policy needs (N), fixed when the request
    is made. ``privileged``: one of its documents is privileged, so only people granted every
    privileged one see the request, and it lives in a privileged thread."""

    public_id = models.CharField(
        max_length=40, unique=True, default=approval_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey("messaging.Thread", on_delete=models.RESTRICT, related_name="+")
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True, max_length=5000)
    policy = models.CharField(max_length=8, choices=PolicyKind.choices)
    required = models.PositiveSmallIntegerField()
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    round = models.PositiveIntegerField(default=1)
    privileged = models.BooleanField(default=False)
    withdraw_reason = models.CharField(max_length=500, blank=True)
    # The round whose due-date reminder has gone out (or was not needed: its approvers were
    # told when the round began, on or after the reminder day).
    reminded_round = models.PositiveIntegerField(null=True, blank=True)
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Approver", related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-public_id"], name="approvals_account_newest"
            ),
            models.Index(fields=["status", "due"], name="approvals_status_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(required__gte=1), name="approvals_required"),
            models.CheckConstraint(condition=models.Q(round__gte=1), name="approvals_round"),
        ]

    def __str__(self) -> str:
        return self.title

    # --- what accounts.permissions asks of an approval (ApprovalScoped) --------------------

    def documents_bound(self) -> list:
        """The request's documents (the same in every round: a new round binds the newest
        versions of the same documents)."""
        cached = getattr(self, "_documents_bound", None)
        if cached is None:
            from vault.models import Document

            cached = list(
                Document.objects.filter(
                    pk__in=RequestVersion.objects.filter(request=self, round=1).values(
                        "version__document"
                    )
                ).select_related("account")
            )
            self._documents_bound = cached
        return cached

    def approver_ids(self) -> set[int]:
        cached = getattr(self, "_approver_ids", None)
        if cached is None:
            cached = set(Approver.objects.filter(request=self).values_list("user_id", flat=True))
            self._approver_ids = cached
        return cached


class RequestVersion(models.Model):
    """A document version the request is about in one round."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="bound")
    round = models.PositiveIntegerField()
    version = models.ForeignKey("vault.Version", on_delete=models.RESTRICT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["request", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "round", "version"], name="approvals_bound_once"
            ),
        ]

    def __str__(self) -> str:
        return f"version {self.version_id} in round {self.round} of {self.request_id}"


class Approver(models.Model):
    request = models.ForeignKey(
        ApprovalRequest, on_delete=models.CASCADE, related_name="approver_rows"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="approvals_approver_once"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} approves {self.request_id}"


class Decision(models.Model):
    """One approver's verdict in one round, on exactly the versions bound in that round
    (``versions``: ``[{"id", "document", "sha256"}]``, as shown to them)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=decision_public_id, editable=False
    )
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveIntegerField()
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    comment = models.TextField(blank=True, max_length=5000)
    versions = models.JSONField(default=list)
    decided_at = models.DateTimeField(default=timezone.now)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["request", "decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver", "round"], name="approvals_one_decision_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} by user {self.approver_id} on {self.request_id}"


class ViewReceipt(models.Model):
    """The first time an approver opened a version through the request: what they saw,
    by its SHA-256."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey("vault.Version", on_delete=models.RESTRICT, related_name="+")
    sha256 = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["request", "first_seen_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "user", "version"], name="approvals_receipt_once"
            ),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} saw version {self.version_id}"


# --- e-signatures ------------------------------------------------------------------------------
#
# A signature request asks people to sign one vault document version (docs/signatures.md).
# Approvers (if any) approve first; then the signers sign, one after another in position order
# (``sequential``) or all at once (``parallel``); viewers are told and may read, never act.
# Every step is one ledger entry (subject: the request's public id) and one thread event.


def signature_public_id() -> str:
    return new_public_id("sig")


class SignatureOrder(models.TextChoices):
    SEQUENTIAL = "sequential", "One after another"
    PARALLEL = "parallel", "All at once"


class SignatureStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    VOIDED = "voided", "Voided"


class SignerRole(models.TextChoices):
    SIGNER = "signer", "Signer"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


class SignerStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for their turn"
    PENDING = "pending", "Asked"
    SIGNED = "signed", "Signed"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    # A viewer: told of the request and of its outcome, nothing to do.
    VIEWER = "viewer", "Receives a copy"


class SignatureRequest(models.Model):
    """A request to sign one document version of a client account. ``sha256`` is the
    version's, copied when asked: every signature is on exactly those bytes. ``privileged``:
    the document is privileged, so only its grantees see the request, which lives in a
    privileged thread. ``certificate`` and ``signed`` are the vault versions made on
    completion (the certificate of completion, and the sealed PDF for a PDF document)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=signature_public_id, editable=False
    )
    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey("messaging.Thread", on_delete=models.RESTRICT, related_name="+")
    version = models.ForeignKey("vault.Version", on_delete=models.RESTRICT, related_name="+")
    sha256 = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True, max_length=5000)
    order = models.CharField(max_length=12, choices=SignatureOrder.choices)
    due = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=SignatureStatus.choices, default=SignatureStatus.OPEN
    )
    privileged = models.BooleanField(default=False)
    void_reason = models.CharField(max_length=500, blank=True)
    # The day the due-date reminder went out (once per request).
    reminded_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    # Made after completion (approvals.signing): both stored in the vault as versions.
    certificate = models.ForeignKey(
        "vault.Version", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    signed = models.ForeignKey(
        "vault.Version", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    sealed_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt to make them failed (for the operator; retried by a task).
    seal_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-public_id"], name="signatures_account_newest"
            ),
            models.Index(fields=["status", "due"], name="signatures_status_due"),
        ]

    def __str__(self) -> str:
        return self.title

    # --- what accounts.permissions asks of a request (ApprovalScoped) ----------------------

    def documents_bound(self) -> list:
        cached = getattr(self, "_documents_bound", None)
        if cached is None:
            from vault.models import Document

            cached = list(
                Document.objects.filter(pk=self.version.document_id).select_related("account")
            )
            self._documents_bound = cached
        return cached

    def approver_ids(self) -> set[int]:
        """Everyone taking part (signers, approvers, viewers)."""
        cached = getattr(self, "_participant_ids", None)
        if cached is None:
            cached = set(Signer.objects.filter(request=self).values_list("user_id", flat=True))
            self._participant_ids = cached
        return cached


class Signer(models.Model):
    """One person's part in a signature request, with everything their certificate line
    shows: when they were asked, first viewed (and which bytes), consented, signed or
    approved or declined, how they re-authenticated, from where."""

    request = models.ForeignKey(SignatureRequest, on_delete=models.CASCADE, related_name="signers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10, choices=SignerRole.choices)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=SignerStatus.choices)
    notified_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    viewed_sha256 = models.CharField(max_length=64, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=10, blank=True)
    consent_sha256 = models.CharField(max_length=64, blank=True)
    # When they signed (a signer) or approved (an approver).
    acted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    signature_name = models.CharField(max_length=200, blank=True)
    # A drawn signature, as a PNG (at most 64 KiB); its SHA-256 is on the ledger.
    signature_image = models.BinaryField(null=True, blank=True)
    method = models.CharField(max_length=20, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="signatures_signer_once"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} ({self.role}) on {self.request_id}"
