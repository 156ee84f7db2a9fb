"""A matter's plan: milestones and tasks, the checklist templates plans start from, and what
the status page and the weekly digest remember (what changed, when each person last looked).

Progress and milestone status are never stored: they are derived from the tasks
(``projects.progress``), so they cannot drift from them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import Matter


def template_public_id() -> str:
    return new_public_id("tpl")


def milestone_public_id() -> str:
    return new_public_id("mil")


def task_public_id() -> str:
    return new_public_id("tsk")


class TaskKind(models.TextChoices):
    """How a task gets done: ticked by hand, or by what it asks for happening."""

    TODO = "todo", "To do"
    # Done when a document is added to the task's vault folder.
    UPLOAD = "upload", "Upload"
    # Done when the task's approval request is approved.
    APPROVAL = "approval", "Approval"


# The longest plan a template may describe, in days from its start (ten years).
MAX_OFFSET_DAYS = 3650


class ChecklistTemplate(models.Model):
    """A firm-wide, named plan to start a matter from ("12-week SaaS rollout"): milestones
    and tasks whose due dates are days after the matter's start. Firm admins manage them."""

    public_id = models.CharField(
        max_length=40, unique=True, default=template_public_id, editable=False
    )
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateMilestone(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.CASCADE, related_name="milestones"
    )
    title = models.CharField(max_length=200)
    # Due this many days after the matter's start.
    offset_days = models.PositiveIntegerField()
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "position"], name="projects_template_milestone_position"
            ),
            models.CheckConstraint(
                condition=models.Q(offset_days__lte=MAX_OFFSET_DAYS),
                name="projects_template_milestone_offset",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TemplateTask(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="tasks")
    milestone = models.ForeignKey(
        TemplateMilestone, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=TaskKind.choices, default=TaskKind.TODO)
    # Whose it is once instantiated: the client, or the matter's owner on the firm's side.
    for_client = models.BooleanField(default=False)
    # Due this many days after the matter's start; None: no due date.
    offset_days = models.PositiveIntegerField(null=True, blank=True)
    # For an upload task: the top-level vault folder (by name) the document is awaited in,
    # created in the account when the template is used.
    folder_name = models.CharField(max_length=120, blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "position"], name="projects_template_task_position"
            ),
            models.CheckConstraint(
                condition=models.Q(offset_days__isnull=True)
                | models.Q(offset_days__lte=MAX_OFFSET_DAYS),
                name="projects_template_task_offset",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=TaskKind.UPLOAD) | ~models.Q(folder_name=""),
                name="projects_template_upload_has_folder",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Milestone(models.Model):
    """A dated step of a matter. Its status and progress come from its tasks."""

    public_id = models.CharField(
        max_length=40, unique=True, default=milestone_public_id, editable=False
    )
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due = models.DateField()
    position = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "position"]
        indexes = [models.Index(fields=["matter", "due"], name="projects_milestone_due")]

    def __str__(self) -> str:
        return self.title


class Task(models.Model):
    """One thing to do for a matter, by a person of either side or by "the client" (anyone
    of the account). ``done_at`` set means done."""

    public_id = models.CharField(max_length=40, unique=True, default=task_public_id, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="tasks")
    milestone = models.ForeignKey(
        Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=TaskKind.choices, default=TaskKind.TODO)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Assigned to the client as a whole: any of the account's people may do it.
    for_client = models.BooleanField(default=False)
    due = models.DateField(null=True, blank=True)
    # An upload task: done when a document is added to this folder of the account.
    folder = models.ForeignKey(
        "vault.Folder", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # An approval task: done when this request is approved.
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "position"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(for_client=True) & models.Q(assignee__isnull=False)),
                name="projects_task_one_assignee",
            ),
        ]
        indexes = [
            models.Index(fields=["matter", "done_at"], name="projects_task_matter_done"),
            models.Index(fields=["milestone", "done_at"], name="projects_task_milestone_done"),
            models.Index(
                fields=["folder"],
                condition=models.Q(done_at__isnull=True, folder__isnull=False),
                name="projects_task_open_folder",
            ),
            models.Index(
                fields=["approval"],
                condition=models.Q(done_at__isnull=True, approval__isnull=False),
                name="projects_task_open_approval",
            ),
            # One person's open tasks (in due order), and the client's in due order: the
            # status page's waiting tasks read the first few of each from an index range.
            models.Index(
                fields=["assignee", "due"],
                condition=models.Q(done_at__isnull=True),
                name="projects_task_assignee_due",
            ),
            models.Index(
                fields=["due"],
                condition=models.Q(done_at__isnull=True, for_client=True),
                name="projects_task_client_due",
            ),
            # Open work only (most of a plan is done): what is late per matter (the board's
            # order, the status page's attention probes) reads index ranges, not every task.
            models.Index(
                fields=["matter", "due"],
                condition=models.Q(done_at__isnull=True),
                name="projects_task_open_due",
            ),
            # The client's open tasks: what waits on a client user, without the rest.
            models.Index(
                fields=["matter", "due"],
                condition=models.Q(done_at__isnull=True, for_client=True),
                name="projects_task_open_client",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None


class Change(models.Model):
    """One change to a matter's plan, in words a client reads ("Dana ticked “Send the logo
    files”"): what the status page shows as new since the last visit and the weekly digest
    sums up. Written in the transaction that makes the change; a privileged matter's changes
    are shown only to those who may see the matter."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The timeline event type it went out as ("task.done", "milestone.added", …).
    kind = models.CharField(max_length=32)
    summary = models.CharField(max_length=300)
    task = models.ForeignKey(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    milestone = models.ForeignKey(
        Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["matter", "-at"], name="projects_change_matter_at")]

    def __str__(self) -> str:
        return self.summary


class StatusVisit(models.Model):
    """When a person last looked at their status page, and the visit before that: "what
    changed since your last visit" is measured from ``previous_seen_at``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="status_visit"
    )
    seen_at = models.DateTimeField(default=timezone.now)
    previous_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} saw the status page at {self.seen_at:%Y-%m-%d %H:%M}"


class StatusDigest(models.Model):
    """A client user's weekly status e-mail: whether they want it (on unless they opt out)
    and when the last one went."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="status_digest"
    )
    enabled = models.BooleanField(default=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"weekly status digest of {self.user}: {'on' if self.enabled else 'off'}"


class PlanVersion(models.Model):
    """Which state of an account's plans the status pages may reuse (``projects.plan_cache``):
    a new random value each time something the pages show of the account's matters,
    milestones or tasks changes, written in the changing transaction
    (``projects.plan_cache.plan_changed``). Random rather than counted, so that a value is
    never given twice, even after the database is restored from a backup or an account's
    key is used again: a reading under an old value can never pass for a newer one. No row
    yet: nothing changed since the versions were first kept."""

    account = models.OneToOneField(
        "accounts.ClientAccount",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="plan_version",
    )
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"plans of account {self.account_id} at version {self.version}"


__all__ = [
    "MAX_OFFSET_DAYS",
    "Change",
    "ChecklistTemplate",
    "Milestone",
    "PlanVersion",
    "StatusDigest",
    "StatusVisit",
    "Task",
    "TaskKind",
    "TemplateMilestone",
    "TemplateTask",
]
