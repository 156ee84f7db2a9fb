"""The policy arithmetic (``approvals.policy``): N per policy, what a round's decisions make of
a request, and the due-date days. Pure functions: no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.errors import Invalid
from approvals import policy
from approvals.models import Status, Verdict


@pytest.mark.parametrize(
    ("given_policy", "approvers", "required"),
    [
        ("all", 1, 1),
        ("all", 4, 4),
        ("any", 1, 1),
        ("any", 4, 1),
        ({"at_least": 1}, 3, 1),
        ({"at_least": 2}, 3, 2),
        ({"at_least": 3}, 3, 3),
    ],
)
def test_n_per_policy(given_policy, approvers, required):
    parsed = policy.policy_parse(given_policy, approvers=approvers)
    assert parsed.required(approvers) == required
    assert parsed.as_json() == given_policy


@pytest.mark.parametrize(
    ("given_policy", "approvers", "field"),
    [
        ({"at_least": 0}, 3, "out_of_range"),
        ({"at_least": 4}, 3, "out_of_range"),
        ({"at_least": -1}, 3, "out_of_range"),
        ({"at_least": True}, 3, "invalid"),
        ({"at_least": 2.0}, 3, "invalid"),
        ({"at_least": "2"}, 3, "invalid"),
        ({"at_least": 2, "extra": 1}, 3, "invalid"),
        ({"at_most": 2}, 3, "invalid"),
        ("most", 3, "invalid"),
        ("ALL", 3, "invalid"),
        (None, 3, "invalid"),
        (["all"], 3, "invalid"),
        (2, 3, "invalid"),
    ],
)
def test_a_policy_outside_the_three_forms_is_refused(given_policy, approvers, field):
    with pytest.raises(Invalid) as refused:
        policy.policy_parse(given_policy, approvers=approvers)
    assert refused.value.code == "bad_policy"
    assert refused.value.fields == {"policy": field}


@pytest.mark.parametrize(
    ("required", "approvers", "verdicts", "expected"),
    [
        # all of 3: one approval is not enough; a single refusal settles it.
        (3, 3, ["approve"], Status.OPEN),
        (3, 3, ["approve", "approve", "approve"], Status.APPROVED),
        (3, 3, ["approve", "changes_requested"], Status.CHANGES_REQUESTED),
        (3, 3, ["reject"], Status.REJECTED),
        (3, 3, ["changes_requested", "reject"], Status.REJECTED),
        # any of 3: a refusal leaves room for someone else's approval.
        (1, 3, ["reject"], Status.OPEN),
        (1, 3, ["reject", "changes_requested"], Status.OPEN),
        (1, 3, ["reject", "changes_requested", "changes_requested"], Status.REJECTED),
        (
            1,
            3,
            ["changes_requested", "changes_requested", "changes_requested"],
            Status.CHANGES_REQUESTED,
        ),
        (1, 3, ["reject", "approve"], Status.APPROVED),
        # at least 2 of 3.
        (2, 3, ["approve"], Status.OPEN),
        (2, 3, ["approve", "reject"], Status.OPEN),
        (2, 3, ["approve", "reject", "approve"], Status.APPROVED),
        (2, 3, ["reject", "changes_requested"], Status.REJECTED),
        (2, 3, ["changes_requested", "changes_requested"], Status.CHANGES_REQUESTED),
        (2, 3, [], Status.OPEN),
    ],
)
def test_what_a_round_makes_of_the_request(required, approvers, verdicts, expected):
    tally = policy.Tally.of(approvers, verdicts)
    assert policy.round_outcome(required=required, tally=tally) == expected


@given(
    approvers=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_round_outcome_against_counting(approvers, data):
    """Whatever the decisions: approved exactly when approvals reach N; closed otherwise
    exactly when N can no longer be reached, rejected exactly when someone rejected."""
    required = data.draw(st.integers(min_value=1, max_value=approvers))
    decided = data.draw(st.integers(min_value=0, max_value=approvers))
    verdicts = data.draw(
        st.lists(st.sampled_from(Verdict.values), min_size=decided, max_size=decided)
    )
    outcome = policy.round_outcome(required=required, tally=policy.Tally.of(approvers, verdicts))
    approvals = sum(v == "approve" for v in verdicts)
    reachable = approvals + (approvers - len(verdicts))
    if approvals >= required:
        assert outcome == Status.APPROVED
    elif reachable < required:
        assert outcome == (Status.REJECTED if "reject" in verdicts else Status.CHANGES_REQUESTED)
    else:
        assert outcome == Status.OPEN
    # Once everybody decided, the request is never left open.
    if len(verdicts) == approvers:
        assert outcome != Status.OPEN


def test_tally_counts():
    tally = policy.Tally.of(5, ["approve", "reject", "approve", "changes_requested"])
    assert tally.as_json(3) == {
        "approvers": 5,
        "required": 3,
        "approved": 2,
        "changes_requested": 1,
        "rejected": 1,
        "undecided": 1,
    }


@pytest.mark.parametrize("status", list(Status))
def test_which_moves_each_status_allows(status):
    assert policy.may_decide(status) is (status == Status.OPEN)
    assert policy.may_expire(status) is (status == Status.OPEN)
    live = status in (Status.OPEN, Status.CHANGES_REQUESTED)
    assert policy.may_withdraw(status) is live
    assert policy.reopens_on_new_version(status) is live
    assert (status in policy.CLOSED) is not live


def test_due_date_days():
    due = date(2026, 12, 10)
    assert policy.reminder_day(due) == date(2026, 12, 9)
    assert policy.expiry_day(due, 14) == date(2026, 12, 25)
    assert policy.expiry_day(due, 0) == date(2026, 12, 11)
    assert not policy.is_overdue(status=Status.OPEN, due=due, today=date(2026, 12, 10))
    assert policy.is_overdue(status=Status.OPEN, due=due, today=date(2026, 12, 11))
    assert not policy.is_overdue(status=Status.APPROVED, due=due, today=date(2026, 12, 11))
    assert not policy.is_overdue(status=Status.OPEN, due=None, today=date(2026, 12, 11))
