"""The client's status page: for each account the person belongs to, where every matter
stands (progress, next milestone, late or not), what waits on them, what changed since they
last looked, and who serves them. Everything is filtered by what the person may see
(``accounts.permissions``), so the staff preview of a client user computes it as that user.

The number of queries is constant whatever the number of accounts, matters, milestones,
tasks and changes: each kind of row is read once for the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When

from accounts import permissions
from accounts.models import ClientAccount, Matter, TeamAssignment, User
from approvals.models import Approver
from projects.models import Change, Milestone, StatusVisit, Task
from projects.progress import Counts, is_overdue
from projects.selectors.progress import matter_counts, next_milestones

# The page shows this many tasks waiting on the person (the most pressing) and changes.
WAITING_LIMIT = 20
CHANGES_LIMIT = 20


@dataclass(frozen=True)
class MatterStatusRow:
    """One matter as the status page shows it."""

    matter: Matter
    counts: Counts
    next_milestone: Milestone | None
    today: date

    @property
    def progress(self) -> int:
        return self.counts.progress

    @property
    def next_milestone_overdue(self) -> bool:
        milestone = self.next_milestone
        return milestone is not None and is_overdue(milestone.due, done=False, today=self.today)

    @property
    def finished(self) -> bool:
        return self.counts.total > 0 and self.counts.done == self.counts.total

    @property
    def overdue(self) -> bool:
        """Late: its target date passed before every task was done, or a task is late."""
        target = self.matter.target_date
        target_passed = target is not None and target < self.today and not self.finished
        return target_passed or self.counts.overdue > 0


@dataclass(frozen=True)
class WaitingTask:
    """An open task the person is expected to do: theirs, or the client's as a whole."""

    task: Task
    today: date
    # An approval task whose request names the person among its approvers: theirs to decide,
    # rather than someone else's of the account.
    approver: bool = False

    @property
    def overdue(self) -> bool:
        return is_overdue(self.task.due, done=False, today=self.today)


@dataclass(frozen=True)
class TeamMember:
    user: User
    title: str
    lead: bool
    # The visible matters of the account this person answers for.
    owns: tuple[Matter, ...] = ()


@dataclass
class AccountStatus:
    account: ClientAccount
    matters: list[MatterStatusRow] = field(default_factory=list)
    team: list[TeamMember] = field(default_factory=list)


@dataclass
class StatusPage:
    user: User
    today: date
    # Changes are those after this moment (the previous visit); None: the newest ones.
    since: datetime | None
    accounts: list[AccountStatus]
    waiting: list[WaitingTask]
    # More tasks wait than ``waiting`` holds.
    more_waiting: bool
    changes: list[Change]

    @property
    def several_accounts(self) -> bool:
        return len(self.accounts) > 1


def _waiting_tasks(user: User, matter_ids: list[int], *, today: date) -> QuerySet[Task]:
    """Open tasks of these matters that are the user's, or the client's in an account the
    user belongs to: late ones first, then by due date (undated last)."""
    theirs = Q(assignee_id=user.pk) | Q(
        for_client=True, matter__account__in=user.memberships.values("account_id")
    )
    return (
        Task.objects.filter(matter_id__in=matter_ids, done_at__isnull=True)
        .filter(theirs)
        .select_related("matter", "matter__account", "milestone", "folder", "approval")
        .annotate(
            late=Case(
                When(due__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("late", F("due").asc(nulls_last=True), "matter__title", "position", "pk")
    )


def client_status(
    user: User,
    *,
    today: date,
    since: datetime | None,
    account: ClientAccount | None = None,
    seen_by: User | None = None,
) -> StatusPage:
    """The status page of ``user`` (see the module's docstring). ``today`` is the viewer's
    local date; ``since`` the previous visit, or None for a first one. ``account`` keeps one
    of the user's accounts only. ``seen_by``: someone else looks at it (the staff preview),
    so a matter shows only if both may see it: a privileged matter stays with its grantees
    whoever asks."""
    visible = permissions.accounts_visible_to(user)
    if account is not None:
        visible = visible.filter(pk=account.pk)
    accounts = list(
        visible.prefetch_related(
            Prefetch(
                "team_assignments",
                queryset=TeamAssignment.objects.select_related("user")
                .filter(user__is_active=True)
                .order_by("-lead", "user__name"),
            )
        ).order_by("status", "name")
    )
    matters_qs = permissions.matters_visible_to(user).filter(account__in=[a.pk for a in accounts])
    if seen_by is not None:
        matters_qs = matters_qs.filter(pk__in=permissions.matters_visible_to(seen_by).values("pk"))
    matters = list(matters_qs.select_related("owner").order_by("title", "pk"))
    ids = [m.pk for m in matters]
    counts = matter_counts(ids, today=today)
    upcoming = next_milestones(ids)

    by_account: dict[int, AccountStatus] = {a.pk: AccountStatus(account=a) for a in accounts}
    for matter in matters:
        by_account[matter.account_id].matters.append(
            MatterStatusRow(
                matter=matter,
                counts=counts.get(matter.pk, Counts()),
                next_milestone=upcoming.get(matter.pk),
                today=today,
            )
        )
    for status in by_account.values():
        owned: dict[int, list[Matter]] = {}
        for row in status.matters:
            if row.matter.owner_id is not None:
                owned.setdefault(row.matter.owner_id, []).append(row.matter)
        status.team = [
            TeamMember(
                user=place.user,
                title=place.title,
                lead=place.lead,
                owns=tuple(owned.get(place.user_id, ())),
            )
            for place in status.account.team_assignments.all()
        ]

    waiting = list(_waiting_tasks(user, ids, today=today)[: WAITING_LIMIT + 1]) if ids else []
    requests = [task.approval_id for task in waiting if task.approval_id is not None]
    deciding = (
        set(
            Approver.objects.filter(request_id__in=requests, user=user).values_list(
                "request_id", flat=True
            )
        )
        if requests
        else set()
    )
    changes: list[Change] = []
    if ids:
        recent = Change.objects.filter(matter_id__in=ids).select_related("actor", "matter")
        if since is not None:
            recent = recent.filter(at__gt=since)
        changes = list(recent.order_by("-at", "-pk")[:CHANGES_LIMIT])

    return StatusPage(
        user=user,
        today=today,
        since=since,
        accounts=list(by_account.values()),
        waiting=[
            WaitingTask(task=task, today=today, approver=task.approval_id in deciding)
            for task in waiting[:WAITING_LIMIT]
        ],
        more_waiting=len(waiting) > WAITING_LIMIT,
        changes=changes,
    )


def previous_visit(user: User) -> datetime | None:
    """What the user's status page counts changes from at the moment, without recording a
    look (``projects.services.visits.status_visit`` records one)."""
    return StatusVisit.objects.filter(user=user).values_list("previous_seen_at", flat=True).first()
