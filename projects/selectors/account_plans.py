"""What the status page and the staff board read of an account's plans, kept ready in
Django's cache per account.

Both pages read every matter of the accounts a person sees (to choose and order the few they
show) with its progress, its next milestone, what is late and what waits on whom: most of
their time. That reading is the same for everyone who sees the account, so it is made once
per account and kept (``AccountPlan``) under a key holding the account's plan version
(``projects.plan_versions``) and the day it was read for (lateness is by date). What is
each person's is applied afterwards to what was kept, never kept itself: which privileged
matters they hold a grant on, which accounts they see and belong to, whose tasks are theirs,
what changed since their last visit, who serves the account. So:

- a change to one account's plans (a new version, written in the changing transaction)
  sends that account's next reading to the database, and no other account's;
- a person signing in, a grant given or withdrawn, a team changed change no version: those
  are read with each request;
- privileged matters are kept with the rest and flagged; a page shows one only to its
  grantees, as ``accounts.permissions.visible_items`` does.

``account_plans`` reads the versions of all the accounts asked for in one query and their
kept plans in one ``cache.get_many``; the accounts not found are read together (a constant
number of queries whatever their number and size) and stored with one ``set_many``. The
cache is Redis in production (``REDIS_URL``) and the process's memory otherwise
(``config.settings``); a cache that fails is logged and read around, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.functions import Rank

from accounts.models import Matter
from projects.models import Milestone, Task
from projects.plan_versions import plan_versions
from projects.progress import Counts
from projects.selectors.ids import AnyOf
from projects.selectors.progress import matter_counts, next_milestones, not_done_milestones

log = logging.getLogger(__name__)

# Part of every key: a change to what is kept changes it, so that a new release never reads
# what an older one stored.
FORMAT = 1
# What is kept for a day is of no use the day after (two: the viewers' days differ).
KEEP_SECONDS = 2 * 24 * 3600
# Kept of each part of the tasks that wait on someone (see ``AccountPlan.waiting``): the
# status page shows 20 and says whether more wait.
WAITING_KEPT = 21
# Whose the client's tasks are in ``AccountPlan.waiting``: anyone of the account.
CLIENT = 0
# The group of the account's ordinary matters in ``AccountPlan.waiting``.
ORDINARY = 0


@dataclass(frozen=True, slots=True)
class PlannedMatter:
    """One matter of an account as both pages use it, read for one day."""

    pk: int
    public_id: str
    account_id: int
    title: str
    status: str
    privileged: bool
    target_date: date | None
    owner_id: int | None
    # A task at all, an open one, an open one past due, an open one of the client's.
    has_task: bool
    has_open: bool
    open_late: bool
    open_client: bool
    # The people with an open task in the matter.
    open_assignees: frozenset[int]
    counts: Counts
    # The next milestone (not done, earliest due): (pk, public id, title, due, position).
    next_milestone: tuple | None
    # Milestones past due and not done, and the earliest due date of an open task or an
    # unfinished milestone past due.
    overdue_milestones: int
    earliest_missed: date | None


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """Every matter of one account (in title order), and the first open tasks by due date
    (``WAITING_KEPT``, and every other task due the same day as the last of them) of each
    part of what waits on someone, by (group, whose): the group is ``ORDINARY`` for the
    account's ordinary matters, a privileged matter's pk for that matter's; whose is the
    assignee's pk, or ``CLIENT`` for the client's tasks. Each task is (due, pk, matter pk,
    position). A person's first tasks in the status page's order (due date, undated last,
    then the matter's title, position) are among the first of the parts they may see: the
    page orders those."""

    account_id: int
    matters: tuple[PlannedMatter, ...]
    waiting: dict[tuple[int, int], tuple[tuple[date | None, int, int, int], ...]] = field(
        default_factory=dict
    )


@dataclass
class Lateness:
    """What the board sorts a matter by, read from open tasks and unfinished milestones
    only: done work, most of a plan, is never read for it."""

    overdue_tasks: int = 0
    overdue_milestones: int = 0
    # The earliest due date of an open task, or of an unfinished milestone, past due.
    earliest_missed: date | None = None

    def missed(self, due: date | None) -> None:
        if due is not None and (self.earliest_missed is None or due < self.earliest_missed):
            self.earliest_missed = due


def lateness(matter_ids: list[int], *, today: date) -> dict[int, Lateness]:
    """Per matter pk, its open tasks and unfinished milestones past due (how many, the
    earliest), in two queries: the open tasks through the ``(matter, done_at)`` index, the
    milestones through ``(matter, due)`` with a probe each of their open tasks."""
    if not matter_ids:
        return {}
    found: dict[int, Lateness] = {}
    tasks = (
        Task.objects.filter(AnyOf(F("matter_id"), matter_ids), done_at__isnull=True, due__lt=today)
        .values_list("matter_id")
        .order_by()
        .annotate(n=Count("pk"), earliest=Min("due"))
    )
    for matter_id, n, earliest in tasks:
        late = found.setdefault(matter_id, Lateness())
        late.overdue_tasks = n
        late.missed(earliest)
    milestones = (
        Milestone.objects.filter(
            not_done_milestones(), AnyOf(F("matter_id"), matter_ids), due__lt=today
        )
        .values_list("matter_id")
        .order_by()
        .annotate(n=Count("pk"), earliest=Min("due"))
    )
    for matter_id, n, earliest in milestones:
        late = found.setdefault(matter_id, Lateness())
        late.overdue_milestones = n
        late.missed(earliest)
    return found


def plan_key(account_id: int, version: int, today: date) -> str:
    return f"projects:plans:{FORMAT}:{account_id}:{version}:{today.isoformat()}"


_MATTER_COLUMNS = (
    "pk",
    "public_id",
    "account_id",
    "title",
    "status",
    "privileged",
    "target_date",
    "owner_id",
    "has_task",
    "has_open",
    "open_late",
    "open_client",
)


def _waiting_parts(account_ids: list[int]) -> dict[int, dict]:
    """``AccountPlan.waiting`` of each account: one query, each part's first rows numbered
    by a window function over the accounts' open tasks of a person or of the client."""
    group = Case(
        When(matter__privileged=True, then=F("matter_id")),
        default=Value(ORDINARY),
        output_field=IntegerField(),
    )
    rows = (
        Task.objects.filter(matter__account_id__in=account_ids, done_at__isnull=True)
        .filter(Q(assignee__isnull=False) | Q(for_client=True))
        .annotate(
            account=F("matter__account_id"),
            group=group,
            # Tied due dates share a rank: every task due on the last day kept is kept.
            rank=Window(
                Rank(),
                partition_by=[F("matter__account_id"), group, F("assignee_id"), F("for_client")],
                order_by=[F("due").asc(nulls_last=True)],
            ),
        )
        .filter(rank__lte=WAITING_KEPT)
        .order_by()
        .values_list(
            "account", "group", "assignee_id", "for_client", "due", "pk", "matter_id", "position"
        )
    )
    parts: dict[int, dict[tuple[int, int], list]] = {pk: {} for pk in account_ids}
    for account_id, group_id, assignee_id, for_client, *task in rows:
        # A task is the client's or one person's, never both (``projects_task_one_assignee``).
        whose = CLIENT if for_client else assignee_id
        parts[account_id].setdefault((group_id, whose), []).append(tuple(task))
    return {
        account_id: {key: tuple(found) for key, found in kept.items()}
        for account_id, kept in parts.items()
    }


def _read(account_ids: list[int], *, today: date) -> dict[int, AccountPlan]:
    """The plans of these accounts read from the database: seven queries whatever their
    number and size (the matters, who has open tasks where, the counts, the next milestones,
    what is late (two), what waits)."""
    tasks = Task.objects.filter(matter_id=OuterRef("pk"))
    open_tasks = tasks.filter(done_at__isnull=True)
    rows = list(
        Matter.objects.filter(account_id__in=account_ids)
        .annotate(
            has_task=Exists(tasks),
            has_open=Exists(open_tasks),
            open_late=Exists(open_tasks.filter(due__lt=today)),
            open_client=Exists(open_tasks.filter(for_client=True)),
        )
        .order_by("title", "pk")
        .values_list(*_MATTER_COLUMNS)
    )
    ids = [row[0] for row in rows]
    assignees: dict[int, set[int]] = {}
    if ids:
        pairs = (
            Task.objects.filter(
                AnyOf(F("matter_id"), ids), done_at__isnull=True, assignee__isnull=False
            )
            .values_list("matter_id", "assignee_id")
            .order_by()
            .distinct()
        )
        for matter_id, assignee_id in pairs:
            assignees.setdefault(matter_id, set()).add(assignee_id)
    counts = matter_counts(ids, today=today)
    upcoming = next_milestones(ids)
    late = lateness(ids, today=today)
    waiting = _waiting_parts(account_ids) if ids else {}
    matters: dict[int, list[PlannedMatter]] = {pk: [] for pk in account_ids}
    for row in rows:
        values = dict(zip(_MATTER_COLUMNS, row, strict=True))
        pk = values["pk"]
        milestone = upcoming.get(pk)
        missed = late.get(pk) or Lateness()
        matters[values["account_id"]].append(
            PlannedMatter(
                **values,
                open_assignees=frozenset(assignees.get(pk, ())),
                counts=counts.get(pk, Counts()),
                next_milestone=(
                    None
                    if milestone is None
                    else (
                        milestone.pk,
                        milestone.public_id,
                        milestone.title,
                        milestone.due,
                        milestone.position,
                    )
                ),
                overdue_milestones=missed.overdue_milestones,
                earliest_missed=missed.earliest_missed,
            )
        )
    return {
        pk: AccountPlan(account_id=pk, matters=tuple(matters[pk]), waiting=waiting.get(pk, {}))
        for pk in account_ids
    }


def account_plans(account_ids: Iterable[int], *, today: date) -> dict[int, AccountPlan]:
    """The plans of these accounts as of now, for ``today``: kept ones where the account's
    version has not moved, the others read (and kept). One query for the versions, one cache
    read, and ``_read``'s queries when any is missing."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    keys = {pk: plan_key(pk, version, today) for pk, version in plan_versions(ids).items()}
    try:
        kept = cache.get_many(list(keys.values()))
    except Exception:
        log.warning("the kept plans could not be read; reading them anew", exc_info=True)
        kept = {}
    plans = {pk: kept[key] for pk, key in keys.items() if key in kept}
    missing = [pk for pk in ids if pk not in plans]
    if missing:
        read = _read(missing, today=today)
        plans.update(read)
        try:
            cache.set_many({keys[pk]: read[pk] for pk in missing}, timeout=KEEP_SECONDS)
        except Exception:
            log.warning("the plans read could not be kept", exc_info=True)
    return plans


@dataclass(frozen=True)
class Sight:
    """What one person may see of the kept plans: the accounts (those they see, the staff
    preview: those both see) and the privileged matters they hold a grant on (both)."""

    accounts: frozenset[int]
    granted: frozenset[int]

    def sees(self, matter: PlannedMatter) -> bool:
        """As ``accounts.permissions.visible_items``: the account seen, and an ordinary
        matter or a privileged one granted."""
        return matter.account_id in self.accounts and (
            not matter.privileged or matter.pk in self.granted
        )

    def sees_group(self, account_id: int, group: int) -> bool:
        return account_id in self.accounts and (group == ORDINARY or group in self.granted)


def _loaded(model, values: dict):
    """An instance of ``model`` with ``values`` (by attname) loaded and the other fields
    deferred: ``from_db`` takes the values in the model's field order."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(model.objects.db, names, [values[name] for name in names])


def matter_object(matter: PlannedMatter) -> Matter:
    """A ``Matter`` with what was kept of it loaded (any other field on first use, as after
    ``only()``); the owner is not kept: the caller sets it, read for the rows it shows."""
    return _loaded(
        Matter,
        {
            "id": matter.pk,
            "public_id": matter.public_id,
            "account_id": matter.account_id,
            "title": matter.title,
            "status": matter.status,
            "privileged": matter.privileged,
            "target_date": matter.target_date,
            "owner_id": matter.owner_id,
        },
    )


def milestone_object(matter: PlannedMatter) -> Milestone | None:
    """The matter's next milestone as a ``Milestone`` (its title and dates loaded)."""
    if matter.next_milestone is None:
        return None
    pk, public_id, title, due, position = matter.next_milestone
    return _loaded(
        Milestone,
        {
            "id": pk,
            "public_id": public_id,
            "matter_id": matter.pk,
            "title": title,
            "due": due,
            "position": position,
        },
    )
