"""The request's state machine, driven through the services by Hypothesis: any sequence of
decisions, new versions, withdrawals and expiry, checked after every step against a small
model that knows only the rules (docs/api.md, "Approvals"): status, round, the decisions of
each round, and one ledger entry per transition, decision and receipt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.errors import Conflict
from approvals import services
from approvals.models import ApprovalRequest, Decision
from evidence.models import Entry
from tests import factories
from tests.approvals.conftest import ask, upload
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

VERDICTS = ["approve", "changes_requested", "reject"]
LIVE = {"open", "changes_requested"}


@dataclass
class Model:
    approvers: int
    required: int
    status: str = "open"
    round: int = 1
    decided: dict[int, str] = field(default_factory=dict)  # approver -> verdict, this round
    decisions: int = 0
    entries: int = 1  # approval.requested

    def settle(self) -> None:
        approvals = sum(v == "approve" for v in self.decided.values())
        still = self.approvers - len(self.decided)
        if approvals >= self.required:
            self.close("approved")
        elif approvals + still < self.required:
            self.close("rejected" if "reject" in self.decided.values() else "changes_requested")

    def close(self, status: str) -> None:
        self.status = status
        self.entries += 1


class ApprovalMachine(RuleBasedStateMachine):
    """One request of Acme on two documents, with two to four approvers and a random
    policy. Each example runs in a savepoint rolled back at its end."""

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @initialize(
        approvers=st.integers(min_value=2, max_value=4),
        policy_kind=st.sampled_from(["all", "any", "at_least"]),
        data=st.data(),
    )
    def ask(self, approvers, policy_kind, data):
        account = factories.account()
        self.staff = factories.staff(accounts=(account,))
        self.people = [factories.client(account) for _ in range(approvers)]
        self.documents = [upload(self.staff, account, f"doc {n}\n".encode()) for n in range(2)]
        if policy_kind == "at_least":
            required = data.draw(st.integers(min_value=1, max_value=approvers))
            policy = {"at_least": required}
        else:
            required = approvers if policy_kind == "all" else 1
            policy = policy_kind
        self.request = ask(
            self.staff,
            account,
            documents=self.documents,
            approvers=self.people,
            policy=policy,
            due=timezone.localdate().isoformat(),
        )
        self.model = Model(approvers=approvers, required=required)
        self.versions_added = 0

    @rule(who=st.integers(min_value=0, max_value=3), verdict=st.sampled_from(VERDICTS))
    def decide(self, who, verdict):
        who %= self.model.approvers
        try:
            services.approval_decide(
                actor=self.people[who], request=self.request, verdict=verdict, comment="why"
            )
        except Conflict as refused:
            if self.model.status != "open":
                assert refused.code == "not_open"
            else:
                assert who in self.model.decided
                assert refused.code == "already_decided"
            return
        assert self.model.status == "open"
        assert who not in self.model.decided
        self.model.decided[who] = verdict
        self.model.decisions += 1
        self.model.entries += 1
        self.model.settle()

    @rule(which=st.integers(min_value=0, max_value=1))
    def new_version(self, which):
        document = self.documents[which]
        self.versions_added += 1
        version = vault_services.version_add(
            actor=self.staff,
            document=document,
            upload=sealed_upload(f"doc {which} v{self.versions_added}\n".encode()),
        ).version
        # The signal is sent after the commit; this example's transaction never commits.
        services.approvals_on_new_version(
            document=document, version=version, actor=self.staff, meta=None
        )
        if self.model.status in LIVE:
            self.model.status = "open"
            self.model.round += 1
            self.model.decided = {}
            self.model.entries += 1

    @rule()
    def withdraw(self):
        try:
            services.approval_withdraw(actor=self.staff, request=self.request, reason="")
        except Conflict as refused:
            assert self.model.status not in LIVE
            assert refused.code == "not_open"
            return
        assert self.model.status in LIVE
        self.model.close("withdrawn")

    @rule()
    def time_passes(self):
        later = timezone.now() + timedelta(days=60)
        expired = services.approvals_due_run(now=later).expired
        if self.model.status == "open":
            assert expired == [self.request.public_id]
            self.model.close("expired")
        else:
            assert expired == []

    @precondition(lambda self: hasattr(self, "model"))
    @invariant()
    def agrees_with_the_model(self):
        stored = ApprovalRequest.objects.get(pk=self.request.pk)
        assert (stored.status, stored.round) == (self.model.status, self.model.round)
        assert Decision.objects.filter(request=stored).count() == self.model.decisions
        this_round = dict(
            Decision.objects.filter(request=stored, round=stored.round).values_list(
                "approver_id", "verdict"
            )
        )
        assert this_round == {self.people[i].pk: v for i, v in self.model.decided.items()}
        assert Entry.objects.filter(subject=stored.public_id).count() == self.model.entries
        assert (stored.closed_at is None) is (stored.status == "open")
        current = {row.version_id for row in stored.bound.filter(round=stored.round)}
        if stored.status == "open":
            # An open round is always about the newest versions.
            assert current == {d.latest_version_id for d in self.documents_now()}

    def documents_now(self):
        for document in self.documents:
            document.refresh_from_db()
        return self.documents


@pytest.mark.django_db
def test_the_state_machine_against_its_model():
    run_state_machine_as_test(
        ApprovalMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
