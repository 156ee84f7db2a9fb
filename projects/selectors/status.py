"""The client's status page: for each account the person belongs to, where every matter
stands (progress, next milestone, late or not), what waits on them, what changed since they
last looked, and who serves them. Everything is filtered by what the person may see
(``accounts.permissions``), so the staff preview of a client user computes it as that user.

The number of queries is constant whatever the number of accounts, matters, milestones,
tasks and changes. The page's size is bounded too: it shows at most ``MATTERS_SHOWN``
matters, those that need the person's attention first (late, or with a task waiting on
them), then the next ones to finish; each account says how many it has, and its page lists
them all. What every viewer of an account sees alike (its matters, their progress, next
milestones, lateness, the first open tasks of each person and of the client) comes from the
account's plans kept in the cache (``projects.selectors.account_plans``); what is the
person's is read for the request and applied to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import F, Prefetch

from accounts import permissions
from accounts.models import ClientAccount, Matter, Membership, TeamAssignment, User
from approvals.models import Approver
from projects.models import Change, Milestone, StatusVisit, Task
from projects.progress import Counts, is_overdue
from projects.selectors.account_plans import (
    CLIENT,
    AccountPlan,
    PlannedMatter,
    Sight,
    account_plans,
    matter_object,
    milestone_object,
)
from projects.selectors.ids import AnyOf
from projects.selectors.words import count_words, day_words, iso_day

# The page shows this many tasks waiting on the person (the most pressing) and changes.
WAITING_LIMIT = 20
CHANGES_LIMIT = 20
# What the page reads of each shown matter's owner.
OWNER_FIELDS = ("public_id", "name", "email")
# The page shows this many matters in all, whatever the number of accounts and matters.
MATTERS_SHOWN = 12


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

    # What the page prints of the row, as words (``projects.selectors.words``).

    @property
    def progress_words(self) -> str:
        return str(self.counts.progress)

    @property
    def tasks_words(self) -> str:
        """ "12 of 40 tasks"."""
        return f"{self.counts.done} of {count_words(self.counts.total, 'task')}"

    @property
    def target_iso(self) -> str:
        target = self.matter.target_date
        return iso_day(target) if target else ""

    @property
    def target_words(self) -> str:
        target = self.matter.target_date
        return day_words(target) if target else ""

    @property
    def next_due_iso(self) -> str:
        return iso_day(self.next_milestone.due) if self.next_milestone else ""

    @property
    def next_due_words(self) -> str:
        return day_words(self.next_milestone.due) if self.next_milestone else ""


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

    @property
    def due_iso(self) -> str:
        return iso_day(self.task.due) if self.task.due else ""

    @property
    def due_words(self) -> str:
        return day_words(self.task.due) if self.task.due else ""

    @property
    def anyone_words(self) -> str:
        """What a task of the client's says: anyone of the account may do it."""
        return f"Anyone at {self.task.matter.account.name} can do this"


@dataclass(frozen=True)
class TeamMember:
    user: User
    title: str
    lead: bool
    # The visible matters of the account this person answers for.
    owns: tuple[Matter, ...] = ()

    @property
    def owned_titles(self) -> list[str]:
        """The titles of ``owns``, for a page to join in one step rather than loop over."""
        return [matter.title for matter in self.owns]


@dataclass
class AccountStatus:
    account: ClientAccount
    # The account's matters the page shows (see ``MATTERS_SHOWN``), in title order.
    matters: list[MatterStatusRow] = field(default_factory=list)
    team: list[TeamMember] = field(default_factory=list)
    # Every matter of the account the person may see, shown or not.
    total: int = 0

    @property
    def more(self) -> bool:
        """Some of the account's matters are not shown: the page links to all of them."""
        return self.total > len(self.matters)


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
    # The accounts the page covers, as read for it: the other readers of the same request
    # take them rather than asking ``accounts.permissions`` again.
    visible: permissions.VisibleAccounts

    @property
    def several_accounts(self) -> bool:
        return len(self.accounts) > 1


def _waiting_tasks(
    plans: list[AccountPlan], sight: Sight, user: User, member_of: set[int], *, limit: int
) -> list[Task]:
    """The first ``limit`` open tasks that are the user's, or the client's in the accounts
    they belong to, in the matters they may see: late ones first, then by due date (undated
    last), the matters' titles (case aside) and the tasks' positions breaking ties. A task is
    late when its due date is before today, so that order is the due date's alone.

    Each kept plan holds the first tasks by due date of each part
    (``AccountPlan.waiting``); the first ``limit`` of those the person may see, in that
    order, are the first of all. Their rows, with what the page shows of each (matter,
    milestone, folder, request), are read by key."""
    titles = {m.pk: m.title for plan in plans for m in plan.matters}
    found: list[tuple[date | None, int, int, int]] = []
    for plan in plans:
        for (group, whose), part in plan.waiting.items():
            theirs = whose == user.pk or (whose == CLIENT and plan.account_id in member_of)
            if theirs and sight.sees_group(plan.account_id, group):
                found.extend(part)
    if not found:
        return []

    def order(row: tuple[date | None, int, int, int]) -> tuple:
        due, pk, matter_id, position = row
        title = titles.get(matter_id, "")
        return (due is None, due or date.min, title.casefold(), title, position, pk)

    chosen = [row[1] for row in sorted(found, key=order)[:limit]]
    rows = Task.objects.filter(AnyOf(F("pk"), chosen)).select_related(
        "matter", "matter__account", "milestone", "folder", "approval"
    )
    by_pk = {task.pk: task for task in rows}
    return [by_pk[pk] for pk in chosen if pk in by_pk]


def _waiting(matter: PlannedMatter, user: User, member_of: set[int]) -> bool:
    """An open task of the matter waits on the person: theirs, or the client's in an
    account they belong to."""
    return user.pk in matter.open_assignees or (
        matter.open_client and matter.account_id in member_of
    )


def _finished(matter: PlannedMatter) -> bool:
    return matter.has_task and not matter.has_open


def _late(matter: PlannedMatter, *, today: date) -> bool:
    """``MatterStatusRow.overdue`` from what was kept: a task is late, or the target date
    passed before every task was done (done: at least one, none open)."""
    finished = _finished(matter)
    target = matter.target_date
    return matter.open_late or (target is not None and target < today and not finished)


def _shown(
    matters: list[PlannedMatter], waiting: set[int], account_order: list[int], *, today: date
) -> list[PlannedMatter]:
    """The matters the page shows, at most ``MATTERS_SHOWN``: those late or waiting on the
    person (``waiting``: their pks) first (in the page's order: by account, then title),
    then the next ones to finish (nearest target date first, undated last, finished ones
    after). Returned in the page's order."""
    place = {pk: i for i, pk in enumerate(account_order)}
    # ``matters`` come in title order from the database (its collation, not Python's).
    rank = {matter.pk: i for i, matter in enumerate(matters)}

    def page_order(matter: PlannedMatter) -> tuple[int, int]:
        return (place[matter.account_id], rank[matter.pk])

    attention = [m for m in matters if m.pk in waiting or _late(m, today=today)]
    chosen = sorted(attention, key=page_order)[:MATTERS_SHOWN]
    if len(chosen) < MATTERS_SHOWN:
        picked = {m.pk for m in chosen}
        rest = sorted(
            (m for m in matters if m.pk not in picked),
            key=lambda m: (
                _finished(m),
                m.target_date is None,
                m.target_date or date.min,
                *page_order(m),
            ),
        )
        chosen += rest[: MATTERS_SHOWN - len(chosen)]
    return sorted(chosen, key=page_order)


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
    whoever asks.

    The accounts' plans come kept (``projects.selectors.account_plans``); what is the
    person's (grants, memberships, whose tasks, changes since the visit, the team) is read
    for this request and applied to them."""
    visible = permissions.visible_accounts(
        user,
        order_by=("status", "name"),
        prefetch=[
            Prefetch(
                "team_assignments",
                queryset=TeamAssignment.objects.select_related("user")
                .filter(user__is_active=True)
                .order_by("-lead", "user__name"),
            )
        ],
    )
    if account is not None:
        visible = visible.only(account)
    accounts = list(visible.accounts)
    seen = {a.pk for a in accounts}
    granted = permissions.granted_pks(user, Matter)
    if seen_by is not None:
        seen &= set(permissions.visible_accounts(seen_by).ids)
        granted &= permissions.granted_pks(seen_by, Matter)
    sight = Sight(accounts=frozenset(seen), granted=frozenset(granted))
    plans = account_plans([a.pk for a in accounts], today=today)
    ordered = [plans[a.pk] for a in accounts]
    matters = [m for plan in ordered for m in plan.matters if sight.sees(m)]
    # The accounts the person belongs to: the client's tasks there are theirs to do.
    member_of = set(Membership.objects.filter(user=user).values_list("account_id", flat=True))
    waiting_on = {m.pk for m in matters if _waiting(m, user, member_of)}
    ids = [m.pk for m in matters]
    shown = _shown(matters, waiting_on, [a.pk for a in accounts], today=today)
    objects = {m.pk: matter_object(m) for m in matters}
    owners = {
        person.pk: person
        for person in User.objects.filter(
            AnyOf(F("pk"), {m.owner_id for m in shown if m.owner_id is not None})
        ).only(*OWNER_FIELDS)
    }
    for m in shown:
        objects[m.pk].owner = owners.get(m.owner_id)

    by_account: dict[int, AccountStatus] = {a.pk: AccountStatus(account=a) for a in accounts}
    for matter in matters:
        by_account[matter.account_id].total += 1
    for matter in shown:
        by_account[matter.account_id].matters.append(
            MatterStatusRow(
                matter=objects[matter.pk],
                counts=matter.counts,
                next_milestone=milestone_object(matter),
                today=today,
            )
        )
    owned: dict[tuple[int, int], list[Matter]] = {}
    for matter in matters:
        if matter.owner_id is not None:
            owned.setdefault((matter.account_id, matter.owner_id), []).append(objects[matter.pk])
    for status in by_account.values():
        status.team = [
            TeamMember(
                user=place.user,
                title=place.title,
                lead=place.lead,
                owns=tuple(owned.get((status.account.pk, place.user_id), ())),
            )
            for place in status.account.team_assignments.all()
        ]

    waiting = _waiting_tasks(ordered, sight, user, member_of, limit=WAITING_LIMIT + 1)
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
        recent = Change.objects.filter(AnyOf(F("matter_id"), ids)).select_related("actor", "matter")
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
        visible=visible,
    )


def previous_visit(user: User) -> datetime | None:
    """What the user's status page counts changes from at the moment, without recording a
    look (``projects.services.visits.status_visit`` records one)."""
    return StatusVisit.objects.filter(user=user).values_list("previous_seen_at", flat=True).first()
