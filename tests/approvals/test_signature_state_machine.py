"""A signature request's life, driven through the services by Hypothesis: any sequence of
signatures, approvals, declines, voids, views and refused attempts, by anyone taking part, in
either order, checked after every step against a small model that knows only the rules
(docs/signatures.md, "Requests and order"): whose turn it is, when the request completes,
that a closed request refuses everything, and one ledger entry per step."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from accounts.errors import Conflict, Forbidden, Invalid
from approvals import services
from approvals import signature_selectors as selectors
from approvals.models import SignatureRequest, Signer
from evidence.models import Entry
from tests import factories
from tests.factories import PASSWORD

ACTING = {"waiting", "pending"}


@dataclass
class Part:
    role: str
    status: str
    viewed: bool = False


@dataclass
class Model:
    order: str
    parts: list[Part]
    status: str = "open"
    entries: int = 1  # signature.requested
    completions: int = 0
    history: list[str] = field(default_factory=list)

    def of(self, role: str) -> list[Part]:
        return [p for p in self.parts if p.role == role]

    def ask_next(self) -> None:
        """The rule as docs/signatures.md states it: approvers until all approved, then
        signers; parallel asks all of a phase, sequential the first not done."""
        approvers = self.of("approver")
        phase = approvers if any(p.status != "approved" for p in approvers) else self.of("signer")
        if self.order == "parallel":
            for part in phase:
                if part.status == "waiting":
                    part.status = "pending"
        elif not any(p.status == "pending" for p in phase):
            for part in phase:
                if part.status == "waiting":
                    part.status = "pending"
                    break

    def close(self, status: str) -> None:
        self.status = status
        self.entries += 1


class SignatureMachine(RuleBasedStateMachine):
    """One request of a new account, with 0 to 2 approvers, 1 to 3 signers and 0 or 1
    viewer, in a random order. Each example runs in a savepoint rolled back at its end."""

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @initialize(
        order=st.sampled_from(["sequential", "parallel"]),
        approvers=st.integers(min_value=0, max_value=2),
        signers=st.integers(min_value=1, max_value=3),
        viewers=st.integers(min_value=0, max_value=1),
    )
    def ask(self, order, approvers, signers, viewers):
        account = factories.account()
        self.staff = factories.staff(accounts=(account,))
        roles = ["approver"] * approvers + ["signer"] * signers + ["viewer"] * viewers
        self.people = [
            factories.staff(accounts=(account,))
            if role == "approver"
            else factories.client(account)
            for role in roles
        ]
        by_role = {
            role: tuple(p for p, r in zip(self.people, roles, strict=True) if r == role)
            for role in ("approver", "signer", "viewer")
        }
        self.request = factories.signature_request(
            account,
            by=self.staff,
            signers=by_role["signer"],
            approvers=by_role["approver"],
            viewers=by_role["viewer"],
            order=order,
            data=b"terms\n",
            filename="terms.txt",
        )
        self.model = Model(
            order=order,
            parts=[Part(role, "viewer" if role == "viewer" else "waiting") for role in roles],
        )
        self.model.ask_next()

    def who(self, index: int) -> tuple[int, Part]:
        index %= len(self.people)
        return index, self.model.parts[index]

    def _done(self) -> None:
        if all(p.status == "signed" for p in self.model.of("signer")):
            self.model.close("completed")
            self.model.completions += 1
        else:
            self.model.ask_next()

    @rule(index=st.integers(min_value=0, max_value=5))
    def sign(self, index):
        index, part = self.who(index)
        try:
            services.signature_sign(
                actor=self.people[index],
                request=self.request,
                consent=True,
                name="Signed by hand",
                password=PASSWORD,
            )
        except Forbidden as refused:
            assert part.role != "signer" and refused.code == "not_a_signer"
            return
        except Conflict as refused:
            expected = "closed" if self.model.status != "open" else "not_your_turn"
            assert (part.role, refused.code) == ("signer", expected)
            assert self.model.status != "open" or part.status != "pending"
            return
        assert (part.role, part.status, self.model.status) == ("signer", "pending", "open")
        part.status = "signed"
        self.model.entries += 2  # consented, signed
        self._done()

    @rule(index=st.integers(min_value=0, max_value=5))
    def approve(self, index):
        index, part = self.who(index)
        try:
            services.signature_approve(
                actor=self.people[index], request=self.request, password=PASSWORD
            )
        except Forbidden as refused:
            assert part.role != "approver" and refused.code == "not_an_approver"
            return
        except Conflict as refused:
            expected = "closed" if self.model.status != "open" else "not_your_turn"
            assert (part.role, refused.code) == ("approver", expected)
            return
        assert (part.role, part.status, self.model.status) == ("approver", "pending", "open")
        part.status = "approved"
        self.model.entries += 1
        self._done()

    @rule(index=st.integers(min_value=0, max_value=5))
    def decline(self, index):
        index, part = self.who(index)
        try:
            services.signature_decline(
                actor=self.people[index], request=self.request, reason="Not like this"
            )
        except Forbidden as refused:
            assert part.role == "viewer" and refused.code == "not_a_signer"
            return
        except Conflict as refused:
            if self.model.status != "open":
                assert refused.code == "closed"
            else:
                assert part.status not in ACTING and refused.code == "already_acted"
            return
        assert part.status in ACTING and self.model.status == "open"
        part.status = "declined"
        self.model.close("declined")

    @rule()
    def void(self):
        try:
            services.signature_void(actor=self.staff, request=self.request, reason="Wrong file")
        except Conflict as refused:
            assert self.model.status != "open" and refused.code == "closed"
            return
        assert self.model.status == "open"
        self.model.close("voided")

    @rule(index=st.integers(min_value=0, max_value=5))
    def view(self, index):
        index, part = self.who(index)
        recorded = services.signature_viewed(actor=self.people[index], request=self.request)
        assert recorded is (self.model.status == "open" and not part.viewed)
        if recorded:
            part.viewed = True
            self.model.entries += 1

    @rule(index=st.integers(min_value=0, max_value=5))
    def sign_without_consent(self, index):
        """Refused whoever tries, whenever; nothing written (the invariant checks it)."""
        index, _ = self.who(index)
        with pytest.raises((Invalid, Forbidden, Conflict)):
            services.signature_sign(
                actor=self.people[index],
                request=self.request,
                consent=False,
                name="Signed by hand",
                password=PASSWORD,
            )

    @precondition(lambda self: hasattr(self, "model"))
    @invariant()
    def agrees_with_the_model(self):
        stored = SignatureRequest.objects.get(pk=self.request.pk)
        assert stored.status == self.model.status
        assert (stored.closed_at is None) is (stored.status == "open")
        rows = list(Signer.objects.filter(request=stored).order_by("position"))
        assert [r.status for r in rows] == [p.status for p in self.model.parts]
        assert [r.viewed_at is not None for r in rows] == [p.viewed for p in self.model.parts]
        assert Entry.objects.filter(subject=stored.public_id).count() == self.model.entries
        kinds = list(
            Entry.objects.filter(subject=stored.public_id, kind="signature.completed").values_list(
                "kind", flat=True
            )
        )
        assert len(kinds) == self.model.completions <= 1

    @precondition(lambda self: hasattr(self, "model"))
    @invariant()
    def turns_follow_the_order(self):
        stored = selectors.with_related(SignatureRequest.objects.filter(pk=self.request.pk)).get()
        rows = selectors.participants(stored)
        approvers = [r for r in rows if r.role == "approver"]
        signers = [r for r in rows if r.role == "signer"]
        pending = [r for r in rows if r.status == "pending"]
        # No signer is asked before every approver has approved.
        if any(r.status != "approved" for r in approvers):
            assert all(r.status in ("waiting", "declined") for r in signers)
        if stored.order == "sequential":
            assert len(pending) <= 1
            # Those who acted come first, in position order.
            for group, done in ((approvers, "approved"), (signers, "signed")):
                acted = [r.status == done for r in group]
                assert acted == sorted(acted, reverse=True)
        # Completed exactly when every signer signed.
        assert (stored.status == "completed") is all(r.status == "signed" for r in signers)
        summary = selectors.summary_json(stored)
        if stored.status == "open":
            assert summary["turn"] == [r.user.public_id for r in pending]
            # Someone is always asked while it is open.
            assert pending
        else:
            assert summary["turn"] == []
        assert summary["counts"]["signed"] == sum(r.status == "signed" for r in signers)


@pytest.mark.django_db
def test_the_signature_machine_against_its_model(settings):
    # Every attempt re-authenticates; none of them is wrong, but keep the limit out of reach.
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 10_000, "window": 900}
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        SignatureMachine,
        settings=run_settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
