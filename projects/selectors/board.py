"""The staff board: every matter of every client a staff member serves, what is late first.

A matter is late by the days since the earliest thing it should have finished and has not:
an open task past its due date, a milestone past its due date and not done (done: it has
tasks and all are done), or its target date passed with tasks still open (or none planned)
and the matter not marked done. The board puts the latest first (most days late), then the
rest by target date (the nearest first, a matter without one last), then by client and
title, so the order is stable between visits.

The order comes from the accounts' plans kept in the cache
(``projects.selectors.account_plans``: a constant number of queries whatever the number of
matters, milestones and tasks, none when nothing changed), with the privileged matters the
person holds a grant on read for the request; the owners of the rows shown are read for
them (``tests/projects/test_board.py`` holds the rows to the same answers as whole-plan
counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import F

from accounts import permissions
from accounts.models import ClientAccount, Matter, MatterStatus, User
from projects.models import Milestone
from projects.progress import Counts
from projects.selectors.account_plans import (
    PlannedMatter,
    Sight,
    account_plans,
    matter_object,
    milestone_object,
)
from projects.selectors.ids import AnyOf
from projects.selectors.words import count_words, day_words, iso_day

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


@dataclass(frozen=True)
class _Sorted:
    """A matter placed on the board, before its row is made."""

    planned: PlannedMatter
    account: ClientAccount
    days_late: int
    past_target: bool


def _sort_key(row: _Sorted) -> tuple:
    target = row.planned.target_date
    return (
        -row.days_late,
        target is None,
        target or date.min,
        row.account.name.casefold(),
        row.planned.title.casefold(),
        row.planned.public_id,
    )


def _sorted(
    user: User,
    *,
    today: date,
    account: ClientAccount | None,
    owner: User | None,
    accounts: permissions.VisibleAccounts | None = None,
) -> list[_Sorted]:
    """The board's matters in its order, with what orders them: every matter of the
    accounts the person sees, from the accounts' kept plans
    (``projects.selectors.account_plans``), privileged ones with the person's grant only."""
    if not (user.is_authenticated and user.is_active and user.is_firm_staff):
        return []
    if accounts is None:
        accounts = permissions.visible_accounts(user)
    if account is not None:
        accounts = accounts.only(account)
    served = {a.pk: a for a in accounts.accounts}
    sight = Sight(
        accounts=frozenset(served), granted=frozenset(permissions.granted_pks(user, Matter))
    )
    plans = account_plans(list(served), today=today)
    placed = []
    for plan in plans.values():
        for matter in plan.matters:
            if not sight.sees(matter):
                continue
            if owner is not None and matter.owner_id != owner.pk:
                continue
            # Finished: at least one task and none open.
            unfinished = matter.has_open or not matter.has_task
            past_target = (
                matter.target_date is not None
                and matter.target_date < today
                and matter.status != MatterStatus.DONE
                and unfinished
            )
            missed = [d for d in (matter.earliest_missed, past_target and matter.target_date) if d]
            placed.append(
                _Sorted(
                    planned=matter,
                    account=served[matter.account_id],
                    days_late=(today - min(missed)).days if missed else 0,
                    past_target=past_target,
                )
            )
    placed.sort(key=_sort_key)
    return placed


def _rows(placed: list[_Sorted]) -> list[BoardRow]:
    """The rows of these matters, with their owners (what the avatar shows) read for them."""
    owner_ids = {p.planned.owner_id for p in placed if p.planned.owner_id is not None}
    owners = {
        person.pk: person
        for person in User.objects.filter(AnyOf(F("pk"), owner_ids)).only(*OWNER_FIELDS)
    }
    rows = []
    for p in placed:
        matter = matter_object(p.planned)
        matter.account = p.account
        matter.owner = owners.get(p.planned.owner_id)
        rows.append(
            BoardRow(
                matter=matter,
                counts=p.planned.counts,
                next_milestone=milestone_object(p.planned),
                overdue_milestones=p.planned.overdue_milestones,
                days_late=p.days_late,
                past_target=p.past_target,
            )
        )
    return rows


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
    return _rows(placed)


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
        found = next((i for i, p in enumerate(placed) if p.planned.public_id == cursor), None)
        if found is None:
            return None
        start = found + 1
    shown = placed[start : start + size]
    more = start + size < len(placed)
    return BoardPage(
        rows=_rows(shown),
        next=shown[-1].planned.public_id if more and shown else None,
        total=len(placed),
        late=sum(1 for p in placed if p.days_late > 0),
    )
