"""The staff board: every matter of every client a staff member serves, what is late first.

A matter is late by the days since the earliest thing it should have finished and has not:
an open task past its due date, a milestone past its due date and not done (done: it has
tasks and all are done), or its target date passed with tasks still open (or none planned)
and the matter not marked done. The board puts the latest first (most days late), then the
rest by target date (the nearest first, a matter without one last), then by client and
title, so the order is stable between visits.

The order comes from three queries whatever the number of matters, milestones and tasks,
each reading what is open only: the matters (with whether they have a task, an open one),
their open tasks past due, their unfinished milestones past due. The counts and the next
milestone are then read with ``projects.selectors.progress`` for the rows shown: a page of
the board (``board_page``) costs the same whatever the size of the firm's plans
(``tests/projects/test_board.py`` holds the rows to the same answers as whole-plan counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, F, Min, OuterRef

from accounts import permissions
from accounts.models import ClientAccount, Matter, MatterStatus, User
from projects.models import Milestone, Task
from projects.progress import Counts
from projects.selectors.ids import AnyOf
from projects.selectors.progress import matter_counts, next_milestones, not_done_milestones
from projects.selectors.rows import read_matters
from projects.selectors.words import count_words, day_words, iso_day

# What the board reads of each matter and its client.
BOARD_FIELDS = ("public_id", "title", "status", "privileged", "target_date")
ACCOUNT_FIELDS = ("public_id", "name")
# What the board shows of each owner: the name and the avatar (initials or picture).
OWNER_FIELDS = ("public_id", "name", "email", "avatar")


@dataclass(frozen=True)
class BoardRow:
    """One matter on the board, with what the board says about it."""

    matter: Matter
    counts: Counts
    next_milestone: Milestone | None
    # Milestones past their due date and not done.
    overdue_milestones: int
    # Days since the earliest missed date (task, milestone or target); 0: nothing is late.
    days_late: int
    # The target date passed and the work is not finished.
    past_target: bool

    @property
    def account(self) -> ClientAccount:
        return self.matter.account

    @property
    def owner(self) -> User | None:
        return self.matter.owner

    @property
    def progress(self) -> int:
        return self.counts.progress

    @property
    def overdue_tasks(self) -> int:
        return self.counts.overdue

    @property
    def late(self) -> bool:
        return self.days_late > 0

    # What the board prints of the row, as words (``projects.selectors.words``): the page
    # outputs them as they are, with no filter per row.

    @property
    def late_words(self) -> str:
        """ "3 days late"."""
        return f"{count_words(self.days_late, 'day')} late"

    @property
    def overdue_words(self) -> str:
        """What is late: "2 tasks, 1 milestone, target passed" (the parts that apply)."""
        parts = []
        if self.counts.overdue:
            parts.append(count_words(self.counts.overdue, "task"))
        if self.overdue_milestones:
            parts.append(count_words(self.overdue_milestones, "milestone"))
        if self.past_target:
            parts.append("target passed")
        return ", ".join(parts)

    @property
    def progress_words(self) -> str:
        """The progress as a number, for the page's text and its progress bar."""
        return str(self.counts.progress)

    @property
    def tasks_words(self) -> str:
        """ "12 of 40 tasks"."""
        return f"{self.counts.done} of {count_words(self.counts.total, 'task')}"

    @property
    def next_due_iso(self) -> str:
        return iso_day(self.next_milestone.due) if self.next_milestone else ""

    @property
    def next_due_words(self) -> str:
        return day_words(self.next_milestone.due) if self.next_milestone else ""

    @property
    def target_iso(self) -> str:
        target = self.matter.target_date
        return iso_day(target) if target else ""

    @property
    def target_words(self) -> str:
        target = self.matter.target_date
        return day_words(target) if target else ""


@dataclass
class _Lateness:
    """What the board sorts a matter by, read from open tasks and unfinished milestones
    only: done work, most of a plan, is never read for it."""

    overdue_tasks: int = 0
    overdue_milestones: int = 0
    # The earliest due date of an open task, or of an unfinished milestone, past due.
    earliest_missed: date | None = None

    def missed(self, due: date | None) -> None:
        if due is not None and (self.earliest_missed is None or due < self.earliest_missed):
            self.earliest_missed = due


def _lateness(matter_ids: list[int], *, today: date) -> dict[int, _Lateness]:
    """Per matter pk, its open tasks and unfinished milestones past due (how many, the
    earliest), in two queries: the open tasks through the ``(matter, done_at)`` index, the
    milestones through ``(matter, due)`` with an ``EXISTS`` each on their open tasks."""
    if not matter_ids:
        return {}
    found: dict[int, _Lateness] = {}
    tasks = (
        Task.objects.filter(AnyOf(F("matter_id"), matter_ids), done_at__isnull=True, due__lt=today)
        .values_list("matter_id")
        .order_by()
        .annotate(n=Count("pk"), earliest=Min("due"))
    )
    for matter_id, n, earliest in tasks:
        late = found.setdefault(matter_id, _Lateness())
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
        late = found.setdefault(matter_id, _Lateness())
        late.overdue_milestones = n
        late.missed(earliest)
    return found


@dataclass(frozen=True)
class _Sorted:
    """A matter placed on the board, before its counts are read."""

    matter: Matter
    lateness: _Lateness
    days_late: int
    past_target: bool


def _sort_key(row: _Sorted) -> tuple:
    target = row.matter.target_date
    return (
        -row.days_late,
        target is None,
        target or date.min,
        row.matter.account.name.casefold(),
        row.matter.title.casefold(),
        row.matter.public_id,
    )


def _sorted(
    user: User,
    *,
    today: date,
    account: ClientAccount | None,
    owner: User | None,
    accounts: permissions.VisibleAccounts | None = None,
) -> list[_Sorted]:
    """The board's matters in its order, with what orders them."""
    if not (user.is_authenticated and user.is_active and user.is_firm_staff):
        return []
    matters = permissions.matters_visible_to(user, account, accounts=accounts)
    if owner is not None:
        matters = matters.filter(owner=owner)
    tasks = Task.objects.filter(matter_id=OuterRef("pk"))
    # Every matter of the board is read to order it, a page of them shown: the columns the
    # board uses, not whole rows (of the owner, what the avatar reads), each client
    # and owner made once however many matters name them.
    matters = read_matters(
        matters.annotate(
            has_open=Exists(tasks.filter(done_at__isnull=True)),
            has_task=Exists(tasks),
        ).order_by(),
        fields=BOARD_FIELDS,
        related={"account": ACCOUNT_FIELDS, "owner": OWNER_FIELDS},
        annotations=("has_open", "has_task"),
    )
    lateness = _lateness([m.pk for m in matters], today=today)
    placed = []
    for matter in matters:
        late = lateness.get(matter.pk) or _Lateness()
        # Finished: at least one task and none open.
        unfinished = matter.has_open or not matter.has_task
        past_target = (
            matter.target_date is not None
            and matter.target_date < today
            and matter.status != MatterStatus.DONE
            and unfinished
        )
        missed = [d for d in (late.earliest_missed, past_target and matter.target_date) if d]
        placed.append(
            _Sorted(
                matter=matter,
                lateness=late,
                days_late=(today - min(missed)).days if missed else 0,
                past_target=past_target,
            )
        )
    placed.sort(key=_sort_key)
    return placed


def _rows(placed: list[_Sorted], *, today: date) -> list[BoardRow]:
    """The rows of these matters, their counts and next milestones read for them alone."""
    ids = [p.matter.pk for p in placed]
    counts = matter_counts(ids, today=today)
    upcoming = next_milestones(ids)
    return [
        BoardRow(
            matter=p.matter,
            counts=counts.get(p.matter.pk, Counts()),
            next_milestone=upcoming.get(p.matter.pk),
            overdue_milestones=p.lateness.overdue_milestones,
            days_late=p.days_late,
            past_target=p.past_target,
        )
        for p in placed
    ]


def staff_board(
    user: User,
    *,
    today: date,
    account: ClientAccount | None = None,
    owner: User | None = None,
) -> list[BoardRow]:
    """Every matter ``user`` may see on the accounts they serve (a firm admin: every
    account; a privileged matter only with a grant), the latest first. ``account`` keeps
    one client's, ``owner`` the matters that person owns. Empty for anyone not firm staff:
    the board is the firm's view of its work, never a client's."""
    placed = _sorted(user, today=today, account=account, owner=owner)
    return _rows(placed, today=today)


@dataclass(frozen=True)
class BoardPage:
    """One page of the board."""

    rows: list[BoardRow]
    # The public id of the last matter shown when more follow (the next page's cursor).
    next: str | None
    # Matters on the whole board, and how many of them are late.
    total: int
    late: int


def board_page(
    user: User,
    *,
    today: date,
    account: ClientAccount | None = None,
    owner: User | None = None,
    cursor: str = "",
    size: int,
    accounts: permissions.VisibleAccounts | None = None,
) -> BoardPage | None:
    """``staff_board``'s rows after the matter whose public id is ``cursor``, at most
    ``size`` of them; None when the cursor names no matter of this board (it moved off it
    since, or never was). The whole board is ordered from what is late, read from open tasks
    and unfinished milestones; counts and next milestones are read for the page's rows.
    ``accounts``: as for ``accounts.permissions.visible_items``."""
    placed = _sorted(user, today=today, account=account, owner=owner, accounts=accounts)
    start = 0
    if cursor:
        found = next((i for i, p in enumerate(placed) if p.matter.public_id == cursor), None)
        if found is None:
            return None
        start = found + 1
    shown = placed[start : start + size]
    more = start + size < len(placed)
    return BoardPage(
        rows=_rows(shown, today=today),
        next=shown[-1].matter.public_id if more and shown else None,
        total=len(placed),
        late=sum(1 for p in placed if p.days_late > 0),
    )
