"""Asking, deciding, withdrawing and the new round on a new version, through the services:
what is stored, what the ledger records per transition, what the thread receives, who is
notified, and that a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from approvals import services
from approvals.models import ApprovalRequest, Decision, Status, ViewReceipt
from evidence.models import Entry
from messaging.models import Event, Notification, Thread
from tests import factories
from tests.approvals.conftest import ask, entries, kinds, new_version, upload
from vault.models import Version

META = {"ip": "203.0.113.7", "user_agent": "Test browser", "authentication": "password"}


def thread_events(thread: Thread) -> list[dict]:
    return [
        json.loads(frame)
        for frame in Event.objects.filter(thread=thread, type__startswith="approval.")
        .order_by("seq")
        .values_list("frame", flat=True)
    ]


def notified(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__name", flat=True))


def stored() -> dict:
    """Everything a refused request must leave alone."""
    return {
        "requests": ApprovalRequest.objects.count(),
        "decisions": Decision.objects.count(),
        "receipts": ViewReceipt.objects.count(),
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def asked(acme, people, deliverables):
    """Sam asks Alex and Morgan to approve both deliverables; both must."""
    return ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design, deliverables.copy],
        approvers=[people["client_admin"], people["client_member"]],
        meta=META,
    )


# --- asking ------------------------------------------------------------------------------------


def test_asking_stores_the_request_records_it_and_tells_the_approvers(acme, people, asked):
    general = Thread.objects.get(account=acme, is_general=True)
    assert asked.status == Status.OPEN
    assert asked.round == 1
    assert asked.required == 2
    assert asked.thread == general

    [entry] = entries(asked.public_id)
    assert entry["kind"] == "approval.requested"
    assert entry["actor"]["id"] == people["staff_on_team"].public_id
    payload = entry["payload"]
    assert payload["policy"] == "all"
    assert [a["id"] for a in payload["approvers"]] == [
        people["client_admin"].public_id,
        people["client_member"].public_id,
    ]
    assert [v["sha256"] for v in payload["versions"]] == [
        Version.objects.get(public_id=v["id"]).sha256 for v in payload["versions"]
    ]
    assert payload["from"] == META
    # Two versions: no single content hash.
    assert entry["content_sha256"] is None

    [event] = thread_events(general)
    assert event["type"] == "approval.requested"
    assert event["approval"]["id"] == asked.public_id
    assert event["approval"]["status"] == "open"
    assert event["approval"]["counts"]["undecided"] == 2
    assert event["approval"]["overdue"] is False
    assert notified("approval") == {people["client_admin"].name, people["client_member"].name}


def test_one_version_is_the_entrys_content_hash(acme, people, deliverables):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
    )
    [entry] = entries(request.public_id)
    assert entry["content_sha256"] == deliverables.design.latest_version.sha256


@pytest.mark.parametrize(
    ("change", "code", "fields"),
    [
        ({"title": ""}, "invalid", {"title": "required"}),
        ({"title": "x" * 201}, "invalid", {"title": "too_long"}),
        ({"versions": []}, "invalid", {"versions": "invalid"}),
        ({"versions": ["ver_aaaaaaaaaaaaaaaaaaaaaaaa"]}, "invalid", {"versions": "not_found"}),
        ({"approvers": []}, "invalid", {"approvers": "invalid"}),
        (
            {"approvers": ["usr_aaaaaaaaaaaaaaaaaaaaaaaa"]},
            "approver_no_access",
            {"approvers": "no_access"},
        ),
        ({"policy": {"at_least": 3}}, "bad_policy", {"policy": "out_of_range"}),
        ({"policy": "most"}, "bad_policy", {"policy": "invalid"}),
        ({"due": "2020-01-01"}, "due_in_past", {"due": "in_past"}),
        ({"due": "tomorrow"}, "invalid", {"due": "invalid"}),
        ({"thread": "thr_aaaaaaaaaaaaaaaaaaaaaaaa"}, "invalid", {"thread": "not_found"}),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(acme, people, deliverables, change, code, fields):
    before = stored()
    arguments = {
        "actor": people["staff_on_team"],
        "account": acme,
        "title": "Homepage",
        "versions": [deliverables.design.latest_version.public_id],
        "approvers": [people["client_admin"].public_id, people["client_member"].public_id],
        "policy_value": "all",
    }
    arguments.update({("policy_value" if k == "policy" else k): v for k, v in change.items()})
    with pytest.raises(Invalid) as refused:
        services.approval_create(**arguments)
    assert refused.value.code == code
    assert refused.value.fields == fields
    assert stored() == before


def test_an_older_version_or_two_of_one_document_are_refused(acme, people, deliverables):
    first = deliverables.design.latest_version
    new_version(people["staff_on_team"], deliverables.design)
    for versions, code in (
        ([first.public_id], "not_latest_version"),
        (
            [
                first.public_id,
                Version.objects.get(document=deliverables.design, number=2).public_id,
            ],
            "duplicate_document",
        ),
    ):
        with pytest.raises(Invalid) as refused:
            services.approval_create(
                actor=people["staff_on_team"],
                account=acme,
                title="T",
                versions=versions,
                approvers=[people["client_admin"].public_id],
                policy_value="any",
            )
        assert refused.value.code == code
    assert not ApprovalRequest.objects.exists()
    assert not Entry.objects.filter(kind__startswith="approval.").exists()


@pytest.mark.parametrize("role", ["client_admin", "client_member"])
def test_clients_do_not_ask(acme, people, deliverables, role):
    with pytest.raises(Forbidden) as refused:
        ask(people[role], acme, documents=[deliverables.design], approvers=[people["client_admin"]])
    assert refused.value.code == "team_only"
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_strangers_to_the_account_get_not_found(acme, people, deliverables, role):
    with pytest.raises(NotFound):
        ask(people[role], acme, documents=[deliverables.design], approvers=[people["client_admin"]])
    assert not ApprovalRequest.objects.exists()


def test_an_approver_of_another_account_is_refused(acme, people, deliverables):
    with pytest.raises(Invalid) as refused:
        ask(
            people["staff_on_team"],
            acme,
            documents=[deliverables.design],
            approvers=[people["other_client"]],
        )
    assert refused.value.code == "approver_no_access"


def test_a_deactivated_approver_is_refused(acme, people, deliverables):
    gone = factories.client(acme, name="Gone Person", active=False)
    with pytest.raises(Invalid) as refused:
        ask(people["staff_on_team"], acme, documents=[deliverables.design], approvers=[gone])
    assert refused.value.code == "approver_no_access"


# --- deciding ----------------------------------------------------------------------------------


def test_all_must_approve(acme, people, asked):
    alex, morgan = people["client_admin"], people["client_member"]
    first = services.approval_decide(actor=alex, request=asked, verdict="approve", meta=META)
    assert ApprovalRequest.objects.get(pk=asked.pk).status == Status.OPEN
    asked_versions = [
        Version.objects.get(public_id=e["id"])
        for e in entries(asked.public_id)[0]["payload"]["versions"]
    ]
    assert len(asked_versions) == 2
    assert first.versions == [
        {"id": v.public_id, "document": v.document.public_id, "sha256": v.sha256}
        for v in asked_versions
    ]
    services.approval_decide(actor=morgan, request=asked, verdict="approve", meta=META)
    request = ApprovalRequest.objects.get(pk=asked.pk)
    assert request.status == Status.APPROVED
    assert request.closed_at is not None
    assert kinds(asked.public_id) == [
        "approval.requested",
        "approval.decided",
        "approval.decided",
        "approval.approved",
    ]
    decided = entries(asked.public_id)[1]
    assert decided["actor"]["id"] == alex.public_id
    assert decided["payload"]["verdict"] == "approve"
    assert decided["payload"]["from"] == META
    assert Decision.objects.get(pk=first.pk).ledger_index == decided["index"]
    general = asked.thread
    assert [e["type"] for e in thread_events(general)] == [
        "approval.requested",
        "approval.decided",
        "approval.decided",
        "approval.closed",
    ]
    assert thread_events(general)[-1]["approval"]["status"] == "approved"
    # Whoever asked hears of each decision.
    assert (
        Notification.objects.filter(kind="approval_decided", user=people["staff_on_team"]).count()
        == 2
    )


def test_a_rejection_settles_an_all_policy(acme, people, asked):
    services.approval_decide(
        actor=people["client_member"], request=asked, verdict="reject", comment="Wrong logo."
    )
    assert ApprovalRequest.objects.get(pk=asked.pk).status == Status.REJECTED
    assert kinds(asked.public_id)[-1] == "approval.rejected"


@pytest.mark.parametrize("verdict", ["changes_requested", "reject"])
def test_a_comment_is_required_to_refuse(acme, people, asked, verdict):
    before = stored()
    with pytest.raises(Invalid) as refused:
        services.approval_decide(
            actor=people["client_admin"], request=asked, verdict=verdict, comment="   "
        )
    assert refused.value.code == "comment_required"
    assert stored() == before


def test_an_unknown_verdict_is_refused(acme, people, asked):
    before = stored()
    with pytest.raises(Invalid) as refused:
        services.approval_decide(actor=people["client_admin"], request=asked, verdict="maybe")
    assert refused.value.code == "bad_verdict"
    assert stored() == before


def test_one_decision_per_approver_per_round(acme, people, deliverables):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"], people["client_member"]],
        policy={"at_least": 2},
    )
    services.approval_decide(actor=people["client_admin"], request=request, verdict="approve")
    before = stored()
    with pytest.raises(Conflict) as refused:
        services.approval_decide(actor=people["client_admin"], request=request, verdict="approve")
    assert refused.value.code == "already_decided"
    assert stored() == before


def test_a_closed_request_takes_no_decision(acme, people, asked):
    services.approval_decide(
        actor=people["client_admin"], request=asked, verdict="changes_requested", comment="Bigger"
    )
    assert ApprovalRequest.objects.get(pk=asked.pk).status == Status.CHANGES_REQUESTED
    before = stored()
    with pytest.raises(Conflict) as refused:
        services.approval_decide(actor=people["client_member"], request=asked, verdict="approve")
    assert refused.value.code == "not_open"
    assert stored() == before


def test_a_non_approver_who_sees_it_is_forbidden(acme, people, asked):
    before = stored()
    with pytest.raises(Forbidden) as refused:
        services.approval_decide(actor=people["staff_on_team"], request=asked, verdict="approve")
    assert refused.value.code == "not_an_approver"
    assert stored() == before


def test_versions_shown_must_be_the_current_ones(acme, people, asked):
    with pytest.raises(Conflict) as refused:
        services.approval_decide(
            actor=people["client_admin"],
            request=asked,
            verdict="approve",
            shown=["ver_aaaaaaaaaaaaaaaaaaaaaaaa"],
        )
    assert refused.value.code == "versions_changed"
    shown = [e["id"] for e in entries(asked.public_id)[0]["payload"]["versions"]]
    services.approval_decide(
        actor=people["client_admin"], request=asked, verdict="approve", shown=shown[::-1]
    )
    assert Decision.objects.count() == 1


# --- receipts ----------------------------------------------------------------------------------


def test_a_receipt_per_version_once(acme, people, asked):
    alex = people["client_admin"]
    version = asked.bound.first().version
    receipt, created = services.approval_viewed(
        actor=alex, request=asked, version_id=version.public_id, meta=META
    )
    assert created
    assert receipt.sha256 == version.sha256
    again, created = services.approval_viewed(
        actor=alex, request=asked, version_id=version.public_id, meta=META
    )
    assert (again.pk, created) == (receipt.pk, False)
    viewed = [e for e in entries(asked.public_id) if e["kind"] == "approval.viewed"]
    assert len(viewed) == 1
    assert viewed[0]["content_sha256"] == version.sha256
    assert viewed[0]["actor"]["id"] == alex.public_id
    assert ViewReceipt.objects.get().ledger_index == viewed[0]["index"]


def test_receipts_are_for_approvers_and_versions_of_the_request(acme, people, asked, deliverables):
    with pytest.raises(Forbidden):
        services.approval_viewed(
            actor=people["staff_on_team"],
            request=asked,
            version_id=asked.bound.first().version.public_id,
        )
    other = upload(people["staff_on_team"], acme, b"unrelated\n")
    with pytest.raises(NotFound):
        services.approval_viewed(
            actor=people["client_admin"],
            request=asked,
            version_id=other.latest_version.public_id,
        )
    assert not ViewReceipt.objects.exists()


# --- withdrawing -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff_on_team", "firm_admin"])
def test_the_team_withdraws(acme, people, asked, role):
    services.approval_withdraw(actor=people[role], request=asked, reason="Superseded", meta=META)
    request = ApprovalRequest.objects.get(pk=asked.pk)
    assert request.status == Status.WITHDRAWN
    assert request.withdraw_reason == "Superseded"
    [entry] = [e for e in entries(asked.public_id) if e["kind"] == "approval.withdrawn"]
    assert entry["payload"]["reason"] == "Superseded"
    assert entry["actor"]["id"] == people[role].public_id
    assert thread_events(asked.thread)[-1]["approval"]["status"] == "withdrawn"
    with pytest.raises(Conflict) as refused:
        services.approval_withdraw(actor=people[role], request=asked)
    assert refused.value.code == "not_open"


@pytest.mark.parametrize("role", ["other_client", "staff_off_team"])
def test_strangers_to_a_request_are_not_told_it_exists(acme, people, asked, role):
    before = stored()
    with pytest.raises(NotFound):
        services.approval_decide(actor=people[role], request=asked, verdict="approve")
    with pytest.raises(NotFound):
        services.approval_withdraw(actor=people[role], request=asked)
    with pytest.raises(NotFound):
        services.approval_viewed(
            actor=people[role], request=asked, version_id=asked.bound.first().version.public_id
        )
    assert stored() == before


def test_clients_do_not_withdraw(acme, people, asked):
    before = stored()
    with pytest.raises(Forbidden) as refused:
        services.approval_withdraw(actor=people["client_admin"], request=asked)
    assert refused.value.code == "team_only"
    assert stored() == before


# --- a new version: stale ----------------------------------------------------------------------


def test_a_new_version_starts_a_new_round(
    acme, people, asked, deliverables, django_capture_on_commit_callbacks
):
    alex = people["client_admin"]
    first = services.approval_decide(actor=alex, request=asked, verdict="approve")
    with django_capture_on_commit_callbacks(execute=True):
        version = new_version(people["staff_on_team"], deliverables.design)
    request = ApprovalRequest.objects.get(pk=asked.pk)
    assert (request.status, request.round) == (Status.OPEN, 2)
    current = [row.version for row in request.bound.filter(round=2).order_by("position")]
    assert current == [version, deliverables.copy.latest_version]
    # The first round's decision stays as history, and Alex decides again.
    assert Decision.objects.get(pk=first.pk).round == 1
    services.approval_decide(actor=alex, request=request, verdict="approve")
    assert Decision.objects.filter(approver=alex).count() == 2
    reopened = entries(asked.public_id)[2]
    assert reopened["kind"] == "approval.reopened"
    assert reopened["actor"]["id"] == people["staff_on_team"].public_id
    assert reopened["payload"]["versions"][0]["sha256"] == version.sha256
    assert reopened["payload"]["previous_versions"][0]["id"] != version.public_id
    assert [e["type"] for e in thread_events(asked.thread)][2] == "approval.reopened"
    # Both approvers are asked again (the uploader, here the team, is never notified of
    # their own upload).
    assert set(
        Notification.objects.filter(kind="approval", seq__isnull=False)
        .exclude(seq=Event.objects.get(type="approval.requested").seq)
        .values_list("user__name", flat=True)
    ) == {alex.name, people["client_member"].name}


def test_changes_requested_reopens_on_a_new_version(
    acme, people, asked, deliverables, django_capture_on_commit_callbacks
):
    services.approval_decide(
        actor=people["client_admin"], request=asked, verdict="changes_requested", comment="Blue"
    )
    with django_capture_on_commit_callbacks(execute=True):
        new_version(people["staff_on_team"], deliverables.copy)
    request = ApprovalRequest.objects.get(pk=asked.pk)
    assert (request.status, request.round) == (Status.OPEN, 2)


@pytest.mark.parametrize("closing", ["approve", "reject", "withdraw"])
def test_a_closed_request_is_not_reopened(
    acme, people, deliverables, closing, django_capture_on_commit_callbacks
):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
    )
    if closing == "withdraw":
        services.approval_withdraw(actor=people["staff_on_team"], request=request)
    else:
        services.approval_decide(
            actor=people["client_admin"], request=request, verdict=closing, comment="No."
        )
    status = ApprovalRequest.objects.get(pk=request.pk).status
    count = Entry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        new_version(people["staff_on_team"], deliverables.design)
    assert ApprovalRequest.objects.get(pk=request.pk).status == status
    assert ApprovalRequest.objects.get(pk=request.pk).round == 1
    assert not Entry.objects.filter(index__gte=count, kind="approval.reopened").exists()


def test_a_version_of_an_unrelated_document_changes_nothing(
    acme, people, asked, django_capture_on_commit_callbacks
):
    other = upload(people["staff_on_team"], acme, b"other\n")
    with django_capture_on_commit_callbacks(execute=True):
        new_version(people["staff_on_team"], other)
    assert ApprovalRequest.objects.get(pk=asked.pk).round == 1


# --- due dates ---------------------------------------------------------------------------------


def test_reminder_then_expiry(acme, people, deliverables, settings):
    from django.utils import timezone

    settings.ATRIUM_APPROVAL_EXPIRY_DAYS = 3
    today = timezone.localdate()
    due = today + timedelta(days=5)
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"], people["client_member"]],
        due=due.isoformat(),
    )
    services.approval_decide(actor=people["client_admin"], request=request, verdict="approve")

    def run(day):
        return services.approvals_due_run(
            now=timezone.make_aware(
                timezone.datetime.combine(day, timezone.datetime.min.time()).replace(hour=9)
            )
        )

    assert run(due - timedelta(days=2)).reminded == []
    assert run(due - timedelta(days=1)).reminded == [request.public_id]
    assert run(due - timedelta(days=1)).reminded == []  # once per round
    reminded = Notification.objects.filter(kind="approval", actor__isnull=True)
    assert set(reminded.values_list("user__name", flat=True)) == {people["client_member"].name}
    assert run(due + timedelta(days=3)).expired == []
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.OPEN
    assert run(due + timedelta(days=4)).expired == [request.public_id]
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.EXPIRED
    expired = entries(request.public_id)[-1]
    assert expired["kind"] == "approval.expired"
    assert expired["actor"] is None


def test_past_the_due_date_it_is_overdue_and_still_decidable(acme, people, deliverables):
    from django.utils import timezone

    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
        due=timezone.localdate().isoformat(),
    )
    ApprovalRequest.objects.filter(pk=request.pk).update(
        due=timezone.localdate() - timedelta(days=1)
    )
    request.refresh_from_db()
    from approvals import selectors

    summary = selectors.summary_json(request, tally=selectors.round_tally(request))
    assert summary["overdue"] is True
    services.approval_decide(actor=people["client_admin"], request=request, verdict="approve")
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.APPROVED
