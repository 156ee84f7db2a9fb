"""One matter's whole plan as its page shows it: the milestones in order with their tasks,
the tasks outside any milestone, and the progress of each. Two queries whatever the number
of milestones and tasks; the counts are taken from the tasks already read, by the same rule
as every other list (``projects.progress``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from accounts import selectors as account_selectors
from accounts.models import Matter, User
from approvals import selectors as approval_selectors
from approvals.models import ApprovalRequest
from approvals.models import Status as ApprovalStatus
from projects.models import Milestone, Task
from projects.progress import Counts, MilestoneStatus, is_overdue, milestone_status
from vault import selectors as vault_selectors
from vault.models import Folder


@dataclass(frozen=True)
class PlannedTask:
    task: Task
    overdue: bool


@dataclass(frozen=True)
class PlannedMilestone:
    milestone: Milestone
    counts: Counts
    status: MilestoneStatus
    overdue: bool
    tasks: list[PlannedTask] = field(default_factory=list)

    @property
    def progress(self) -> int:
        return self.counts.progress


@dataclass(frozen=True)
class MatterPlan:
    matter: Matter
    today: date
    milestones: list[PlannedMilestone]
    # Tasks that belong to no milestone, in their order.
    loose_tasks: list[PlannedTask]
    counts: Counts

    @property
    def progress(self) -> int:
        return self.counts.progress

    @property
    def task_count(self) -> int:
        return self.counts.total


def _counts(tasks: list[PlannedTask]) -> Counts:
    return Counts(
        total=len(tasks),
        done=sum(1 for t in tasks if t.task.done),
        overdue=sum(1 for t in tasks if t.overdue),
    )


def matter_plan(matter: Matter, *, today: date) -> MatterPlan:
    """The plan of ``matter``, which the caller has already resolved as visible to the viewer
    (``permissions.matter_for``); ``today`` in the viewer's time zone."""
    milestones = list(Milestone.objects.filter(matter=matter).order_by("position", "pk"))
    tasks = list(
        Task.objects.filter(matter=matter)
        .select_related("assignee", "done_by", "folder", "approval")
        .order_by("position", "pk")
    )
    by_milestone: dict[int | None, list[PlannedTask]] = {}
    for task in tasks:
        planned = PlannedTask(task=task, overdue=is_overdue(task.due, done=task.done, today=today))
        by_milestone.setdefault(task.milestone_id, []).append(planned)
    planned_milestones = []
    for milestone in milestones:
        own = by_milestone.get(milestone.pk, [])
        counts = _counts(own)
        status = milestone_status(counts.done, counts.total)
        planned_milestones.append(
            PlannedMilestone(
                milestone=milestone,
                counts=counts,
                status=status,
                overdue=is_overdue(milestone.due, done=status == MilestoneStatus.DONE, today=today),
                tasks=own,
            )
        )
    loose = by_milestone.get(None, [])
    every = [t for group in by_milestone.values() for t in group]
    return MatterPlan(
        matter=matter,
        today=today,
        milestones=planned_milestones,
        loose_tasks=loose,
        counts=_counts(every),
    )


# The most vault folders and open approval requests a task form offers to link.
CHOICES_LIMIT = 200


@dataclass(frozen=True)
class PlanChoices:
    """What the forms that edit a plan offer: who may own the matter (its team), whom a task
    may be assigned to (the account's people and its team), the vault folders an upload task
    may wait on and the open approval requests an approval task may wait on."""

    team: list[User]
    assignable: list[User]
    folders: list[Folder]
    approvals: list[ApprovalRequest]


def plan_choices(user: User, matter: Matter) -> PlanChoices:
    """For a person who may change ``matter``'s plan. A privileged matter's tasks go only to
    the people who may see it."""
    account = matter.account
    team = [
        assignment.user
        for assignment in account.team_assignments.select_related("user")
        .filter(user__is_active=True)
        .order_by("user__name")
    ]
    assignable = account_selectors.matter_people(matter)
    folders = list(vault_selectors.folders_of(user, account)[:CHOICES_LIMIT])
    open_requests = ApprovalRequest.objects.filter(account=account, status=ApprovalStatus.OPEN)
    if not matter.privileged:
        # A task shows its request to everyone who sees the matter.
        open_requests = open_requests.filter(privileged=False)
    approvals = list(
        approval_selectors.visible_requests(user, open_requests).order_by("-created_at")[
            :CHOICES_LIMIT
        ]
    )
    return PlanChoices(team=team, assignable=assignable, folders=folders, approvals=approvals)
