"""The arithmetic of an approval request, as pure functions: how many approvals a policy
needs, what a round's decisions make of the request, and which moves each status allows.

Services apply these under the request's row lock; the tests check them against a model of
their own (``tests/approvals/test_policy.py``, ``test_state_machine.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from accounts.errors import Invalid
from approvals.models import PolicyKind, Status, Verdict

MAX_APPROVERS = 50

# Closed: nothing moves them again (a new version does not reopen them).
CLOSED = frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED})
# A new version of a document starts a new round from these; a withdrawal ends them.
LIVE = frozenset({Status.OPEN, Status.CHANGES_REQUESTED})


@dataclass(frozen=True)
class Policy:
    kind: str  # PolicyKind
    at_least: int | None = None  # N, for "at_least" only

    def required(self, approvers: int) -> int:
        """N: how many approvals close the request as approved."""
        if self.kind == PolicyKind.ALL:
            return approvers
        if self.kind == PolicyKind.ANY:
            return 1
        return int(self.at_least or 0)

    def as_json(self) -> str | dict:
        """As the API takes and gives it: ``"all"``, ``"any"`` or ``{"at_least": N}``."""
        if self.kind == PolicyKind.AT_LEAST:
            return {"at_least": self.at_least}
        return str(self.kind)


def policy_parse(value: object, *, approvers: int) -> Policy:
    """The policy as given in the API, checked against the number of approvers. Invalid
    (naming ``policy``) for anything but ``"all"``, ``"any"`` or ``{"at_least": N}`` with an
    integer 1 ≤ N ≤ approvers."""
    if value in (PolicyKind.ALL.value, PolicyKind.ANY.value):
        return Policy(str(value))
    if isinstance(value, dict) and set(value) == {"at_least"}:
        n = value["at_least"]
        if isinstance(n, int) and not isinstance(n, bool):
            if 1 <= n <= approvers:
                return Policy(PolicyKind.AT_LEAST, n)
            raise Invalid(
                f"at_least must be between 1 and the number of approvers ({approvers}).",
                code="bad_policy",
                fields={"policy": "out_of_range"},
            )
    raise Invalid(
        'The policy is "all", "any" or {"at_least": N}.',
        code="bad_policy",
        fields={"policy": "invalid"},
    )


@dataclass(frozen=True)
class Tally:
    """The decisions of the current round."""

    approvers: int
    approved: int = 0
    changes_requested: int = 0
    rejected: int = 0

    @property
    def decided(self) -> int:
        return self.approved + self.changes_requested + self.rejected

    @property
    def undecided(self) -> int:
        return self.approvers - self.decided

    @classmethod
    def of(cls, approvers: int, verdicts: Iterable[str]) -> Tally:
        verdicts = list(verdicts)
        return cls(
            approvers=approvers,
            approved=verdicts.count(Verdict.APPROVE),
            changes_requested=verdicts.count(Verdict.CHANGES_REQUESTED),
            rejected=verdicts.count(Verdict.REJECT),
        )

    def as_json(self, required: int) -> dict:
        return {
            "approvers": self.approvers,
            "required": required,
            "approved": self.approved,
            "changes_requested": self.changes_requested,
            "rejected": self.rejected,
            "undecided": self.undecided,
        }


def round_outcome(*, required: int, tally: Tally) -> str:
    """What an open request becomes after a decision of its round: ``approved`` once the
    approvals reach N; once they no longer can (approvals + undecided < N), ``rejected`` if
    any decision of the round is a rejection, else ``changes_requested``; otherwise still
    ``open``."""
    if tally.approved >= required:
        return Status.APPROVED
    if tally.approved + tally.undecided < required:
        return Status.REJECTED if tally.rejected else Status.CHANGES_REQUESTED
    return Status.OPEN


def may_decide(status: str) -> bool:
    return status == Status.OPEN


def may_withdraw(status: str) -> bool:
    return status in LIVE


def reopens_on_new_version(status: str) -> bool:
    """A new version of one of its documents makes a live request stale: a new round."""
    return status in LIVE


def may_expire(status: str) -> bool:
    return status == Status.OPEN


# --- the due date -----------------------------------------------------------------------------
# Days are the firm's days (settings.TIME_ZONE). A request is due by the end of its due date.


def is_overdue(*, status: str, due: date | None, today: date) -> bool:
    """Past its due date and still open (still decidable, until it expires)."""
    return status == Status.OPEN and due is not None and today > due


def reminder_day(due: date) -> date:
    """Undecided approvers are reminded from the start of the day before the due date."""
    return due - timedelta(days=1)


def expiry_day(due: date, expiry_days: int) -> date:
    """The first day on which an open request is expired: ``expiry_days`` full days after
    its due date."""
    return due + timedelta(days=expiry_days + 1)
