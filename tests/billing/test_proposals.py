"""Proposals' services: drafts the team's alone, sending binding the scope and hashing the
content, acceptance by a client admin after consent and re-authentication bound to that hash
on the ledger, the draft invoice (or deposit) it makes, declining and withdrawing."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from accounts.services import two_factor
from billing.consent import CONSENT_V1
from billing.content import proposal_content, sha256_of
from billing.models import Invoice, Proposal, ProposalStatus, Status
from billing.services import proposals as services
from billing.services.lookups import invoice_for
from evidence.models import Entry
from messaging.models import Event, Notification
from tests import factories
from tests.factories import PASSWORD
from tests.factories import totp_code as code_for
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

pytestmark = pytest.mark.django_db

META = {"ip": "203.0.113.9", "user_agent": "Firefox/140", "authentication": "password"}
SCOPE = b"Scope of work: five pages, two rounds of changes.\n"


def scope_document(actor, account, data: bytes = SCOPE, **kwargs):
    return vault_services.document_create(
        actor=actor, account=account, upload=sealed_upload(data, "scope.pdf"), **kwargs
    ).document


def stored() -> dict:
    """Everything a refused decision must leave alone."""
    return {
        "entries": Entry.objects.count(),
        "events": Event.objects.count(),
        "notifications": Notification.objects.count(),
        "invoices": Invoice.objects.count(),
        "proposals": list(Proposal.objects.values_list("status", "accepted_name", "invoice_id")),
    }


def entries(proposal, kind=None) -> list[dict]:
    rows = Entry.objects.filter(subject=proposal.public_id).order_by("index")
    if kind is not None:
        rows = rows.filter(kind=kind)
    return [json.loads(row.canonical) for row in rows]


def frames(proposal) -> list[dict]:
    rows = Event.objects.filter(thread_id=proposal.thread_id, type__startswith="proposal.")
    return [json.loads(frame) for frame in rows.order_by("seq").values_list("frame", flat=True)]


@pytest.fixture
def sent(acme, people, django_capture_on_commit_callbacks):
    staff = people["staff_on_team"]
    document = scope_document(staff, acme, title="Scope of work")
    with django_capture_on_commit_callbacks(execute=True):
        made = factories.proposal(
            acme,
            by=staff,
            lines=(("Design", "2", "500.00", "20"), ("Hosting", "12", "9.99", "5")),
            document=document.public_id,
            valid_until=timezone.localdate() + timedelta(days=30),
        )
        made = services.proposal_send(actor=staff, proposal=made, meta=META)
    return made


def accept(actor, proposal, **given):
    fields = {"consent": True, "name": actor.name, "password": PASSWORD, "meta": META}
    fields.update(given)
    return services.proposal_accept(actor=actor, proposal=proposal, **fields)


# --- drafts ---------------------------------------------------------------------------------


def test_a_draft_has_its_lines_and_sums_and_no_event(acme, people):
    made = factories.proposal(
        acme, by=people["staff_on_team"], lines=(("Design", "1.5", "333.33", "20"),)
    )
    assert made.status == ProposalStatus.DRAFT
    assert (made.subtotal, made.tax, made.total) == (
        Decimal("500.00"),
        Decimal("100.00"),
        Decimal("600.00"),
    )
    assert made.thread.is_general
    assert Entry.objects.filter(subject=made.public_id).count() == 0
    assert frames(made) == []


@pytest.mark.parametrize("role", ["client_admin", "client_member", "staff_off_team"])
def test_only_the_team_drafts(acme, people, role):
    with pytest.raises(Forbidden) as caught:
        factories.proposal(acme, by=people[role])
    assert caught.value.code == "team_only"


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"title": "  "}, {"title": "required"}),
        ({"title": "x" * 201}, {"title": "too_long"}),
        ({"title": "a\x00b"}, {"title": "nul_character"}),
        ({"currency": "XYZ"}, {"currency": "unknown_currency"}),
        ({"lines": []}, {"lines": "required"}),
        (
            {"lines": [{"description": "A", "quantity": "-1", "unit_price": "1", "tax_rate": "0"}]},
            {"lines[0].quantity": "negative"},
        ),
        ({"valid_until": "2020-01-01"}, {"valid_until": "past"}),
        ({"valid_until": "next week"}, {"valid_until": "invalid"}),
        ({"deposit_percent": "0"}, {"deposit_percent": "too_small"}),
        ({"deposit_percent": "101"}, {"deposit_percent": "too_large"}),
        ({"deposit_percent": 12.5}, {"deposit_percent": "not_a_number"}),
        ({"document": "doc_nothere"}, {"document": "invalid"}),
        ({"notes": "n" * 5001}, {"notes": "too_long"}),
    ],
)
def test_bad_fields_are_refused_by_name(acme, people, given, fields):
    base = {
        "title": "Redesign",
        "currency": "EUR",
        "lines": [{"description": "A", "quantity": "1", "unit_price": "10", "tax_rate": "20"}],
    }
    with pytest.raises(Invalid) as caught:
        services.proposal_create(actor=people["staff_on_team"], account=acme, **{**base, **given})
    assert caught.value.fields == fields
    assert Proposal.objects.count() == 0


def test_the_scope_is_a_visible_non_privileged_document_of_the_account(acme, globex, people):
    staff, admin = people["staff_on_team"], people["firm_admin"]
    elsewhere = scope_document(admin, globex)
    secret = scope_document(staff, acme, privileged=True, title="Settlement")
    for actor, document, reason in (
        (admin, elsewhere, "other_account"),
        (staff, secret, "privileged"),  # granted to its uploader, not to the client
    ):
        with pytest.raises(Invalid) as caught:
            factories.proposal(acme, by=actor, document=document.public_id)
        assert caught.value.fields == {"document": reason}
    # Someone who may not see the document learns nothing about it.
    with pytest.raises(Invalid) as hidden:
        factories.proposal(acme, by=staff, document=elsewhere.public_id)
    assert hidden.value.fields == {"document": "invalid"}


def test_a_draft_changes_and_is_deleted_but_a_sent_one_never(acme, people, sent):
    staff = people["staff_on_team"]
    draft = factories.proposal(acme, by=staff)
    changed = services.proposal_update(
        actor=staff,
        proposal=draft,
        title="Redesign, phase 1",
        currency="JPY",
        deposit_percent="30",
    )
    assert changed.title == "Redesign, phase 1"
    # The lines are rounded again in the new currency.
    assert changed.total == Decimal("1200") and changed.currency == "JPY"
    assert changed.deposit_percent == Decimal("30")
    # Clients never see a draft: not found, rather than forbidden.
    with pytest.raises(NotFound):
        services.proposal_update(actor=people["client_admin"], proposal=draft, title="Mine")
    before = sent.content_sha256
    for attempt in (
        lambda: services.proposal_update(actor=staff, proposal=sent, title="Changed"),
        lambda: services.proposal_update(actor=staff, proposal=sent, lines=[]),
        lambda: services.proposal_delete(actor=staff, proposal=sent),
        lambda: services.proposal_send(actor=staff, proposal=sent),
    ):
        with pytest.raises(Conflict) as caught:
            attempt()
        assert caught.value.code == "not_draft"
    sent.refresh_from_db()
    assert sent.title == "Website redesign" and sent.content_sha256 == before
    services.proposal_delete(actor=staff, proposal=changed)
    assert not Proposal.objects.filter(pk=draft.pk).exists()


# --- sending --------------------------------------------------------------------------------


def test_sending_binds_the_scope_copies_the_parties_and_hashes_the_content(acme, people, sent):
    staff = people["staff_on_team"]
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SENT and sent.sent_by == staff
    assert sent.scope_version.sha256 == hashlib.sha256(SCOPE).hexdigest()
    # Without billing details: the firm's name and the account's name.
    assert sent.seller["legal_name"] and sent.buyer["legal_name"] == "Acme"
    # The hash is of the content as stored, recomputed from a fresh read.
    fresh = Proposal.objects.select_related("account", "scope_version").get(pk=sent.pk)
    assert sent.content_sha256 == sha256_of(proposal_content(fresh, fresh.lines.all()))
    [entry] = entries(sent, "proposal.sent")
    assert entry["content_sha256"] == sent.content_sha256
    assert entry["actor"]["id"] == staff.public_id
    assert entry["payload"]["scope"]["sha256"] == sent.scope_version.sha256
    assert entry["payload"]["from"]["ip"] == "203.0.113.9"
    [frame] = frames(sent)
    assert frame["type"] == "proposal.sent"
    assert frame["proposal"]["status"] == "sent" and frame["proposal"]["total"] == "1325.87"
    # The client's admins are told, in the portal and by e-mail with a link.
    told = set(Notification.objects.filter(kind="proposal").values_list("user__name", flat=True))
    assert told == {"Alex Acme"}
    [message] = mail.outbox
    assert message.to == [people["client_admin"].email]
    link = f"{settings.ATRIUM_BASE_URL.rstrip('/')}/proposals/{sent.public_id}/"
    assert link in message.body and link in message.alternatives[0][0]
    assert not message.attachments


def test_a_newer_scope_version_after_sending_is_not_the_bound_one(acme, people, sent):
    bound = sent.scope_version
    vault_services.version_add(
        actor=people["staff_on_team"],
        document=sent.document,
        upload=sealed_upload(b"Scope, changed later\n", "scope-v2.pdf"),
    )
    sent.refresh_from_db()
    assert sent.scope_version == bound


# --- accepting ------------------------------------------------------------------------------


def test_a_client_admin_accepts_bound_to_the_content_hash(
    acme, people, sent, mailoutbox, django_capture_on_commit_callbacks
):
    alex = people["client_admin"]
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        accepted = accept(alex, sent, name="  Alex Acme ")
    assert accepted.status == ProposalStatus.ACCEPTED
    assert accepted.accepted_name == "Alex Acme" and accepted.decided_by == alex
    [entry] = entries(sent, "proposal.accepted")
    assert accepted.ledger_index == entry["index"]
    # Bound to the hash of the content recomputed independently of the stored one.
    fresh = Proposal.objects.select_related("account", "scope_version").get(pk=sent.pk)
    assert entry["content_sha256"] == sha256_of(proposal_content(fresh, fresh.lines.all()))
    payload = entry["payload"]
    assert payload["name"] == "Alex Acme"
    assert payload["consent"] == {
        "version": "v1",
        "text": CONSENT_V1,
        "sha256": hashlib.sha256(CONSENT_V1.encode()).hexdigest(),
    }
    assert payload["reauthentication"] == "password"
    assert payload["from"] == {
        "ip": "203.0.113.9",
        "user_agent": "Firefox/140",
        "authentication": "password",
    }
    assert payload["scope"]["sha256"] == hashlib.sha256(SCOPE).hexdigest()
    assert payload["invoice"] == accepted.invoice.public_id
    # The team is told, in the thread and by e-mail.
    assert frames(sent)[-1]["type"] == "proposal.accepted"
    told = Notification.objects.filter(kind="proposal_decided").values_list("user__name", flat=True)
    assert set(told) == {"Sam Staff"}
    [message] = mailoutbox
    assert message.to == [people["staff_on_team"].email]
    assert "Alex Acme accepted" in message.body and sent.public_id in message.body


def test_acceptance_makes_a_draft_invoice_of_the_lines_linked_both_ways(acme, people, sent):
    alex = people["client_admin"]
    accepted = accept(alex, sent)
    invoice = Invoice.objects.get(pk=accepted.invoice_id)
    assert invoice.proposal == accepted
    assert invoice.status == Status.DRAFT and invoice.number is None
    assert invoice.account == acme and invoice.currency == "EUR"
    assert invoice.created_by == people["staff_on_team"]
    assert [(line.description, line.net, line.tax) for line in invoice.lines.all()] == [
        (line.description, line.net, line.tax) for line in sent.lines.all()
    ]
    assert invoice.total == sent.total == Decimal("1325.87")
    # A draft: the team sees it, the client does not.
    assert invoice_for(people["staff_on_team"], invoice.public_id) == invoice
    with pytest.raises(NotFound):
        invoice_for(alex, invoice.public_id)


def test_a_deposit_is_a_share_of_each_tax_band(acme, people):
    staff = people["staff_on_team"]
    made = factories.proposal(
        acme,
        by=staff,
        lines=(
            ("Design", "3", "333.33", "20"),  # 999.99
            ("Copy", "1", "100.01", "20"),  # 100.01 -> band 20 %: 1100.00
            ("Books", "1", "99.99", "5"),  # band 5 %: 99.99
        ),
        deposit_percent="33.3",
        sent=True,
    )
    accepted = accept(people["client_admin"], made)
    lines = list(accepted.invoice.lines.all())
    assert [(line.description, line.tax_rate, line.net, line.tax) for line in lines] == [
        (
            "Deposit of 33.3 % for Website redesign (work taxed at 5 %)",
            Decimal("5"),
            Decimal("33.30"),  # 99.99 * 33.3 % = 33.29667
            Decimal("1.67"),  # 33.30 * 5 % = 1.665, half up
        ),
        (
            "Deposit of 33.3 % for Website redesign (work taxed at 20 %)",
            Decimal("20"),
            Decimal("366.30"),  # 1100.00 * 33.3 %
            Decimal("73.26"),
        ),
    ]
    assert accepted.invoice.total == Decimal("474.53")


def test_a_deposit_on_one_band_is_one_line_in_a_zero_decimal_currency(acme, people):
    made = factories.proposal(
        acme,
        by=people["staff_on_team"],
        currency="JPY",
        lines=(("Design", "1", "100001", "10"),),
        deposit_percent="50",
        sent=True,
    )
    invoice = accept(people["client_admin"], made).invoice
    [line] = invoice.lines.all()
    assert line.description == "Deposit of 50 % for Website redesign"
    assert (line.net, line.tax, invoice.total) == (Decimal("50001"), Decimal("5000"), 55001)


def test_acceptance_with_two_factor_needs_the_code(acme, people, sent, otp_clock):
    alex = people["client_admin"]
    device = two_factor.enrolment_device(user=alex)
    two_factor.enrolment_confirm(
        user=alex, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    otp_clock.value += 30
    device = TOTPDevice.objects.get(user=alex)
    before = stored()
    with pytest.raises(Invalid) as missing:
        accept(alex, sent)
    assert missing.value.fields == {"code": "required"}
    with pytest.raises(Invalid) as wrong:
        accept(alex, sent, code="000000")
    assert wrong.value.fields == {"code": "wrong"}
    assert stored() == before
    accepted = accept(alex, sent, code=code_for(device, otp_clock.value))
    assert entries(accepted, "proposal.accepted")[0]["payload"]["reauthentication"] == (
        "password+totp"
    )


@pytest.mark.parametrize(
    ("given", "error", "fields"),
    [
        ({"password": "guess"}, Invalid, {"password": "wrong"}),
        ({"password": ""}, Invalid, {"password": "required"}),
        ({"consent": False}, Invalid, {"consent": "required"}),
        ({"consent": "true"}, Invalid, {"consent": "required"}),
        ({"consent": None}, Invalid, {"consent": "required"}),
        ({"name": " "}, Invalid, {"name": "required"}),
        ({"name": "n" * 151}, Invalid, {"name": "too_long"}),
        ({"name": 7}, Invalid, {"name": "invalid"}),
    ],
)
def test_a_refused_acceptance_writes_nothing(people, sent, given, error, fields):
    before = stored()
    with pytest.raises(error) as caught:
        accept(people["client_admin"], sent, **given)
    assert caught.value.fields == fields
    assert stored() == before


def test_wrong_passwords_are_limited_and_even_the_right_one_then_refused(people, sent, settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 2, "window": 900}
    alex = people["client_admin"]
    before = stored()
    for _ in range(2):
        with pytest.raises(Invalid):
            accept(alex, sent, password="guess")
    with pytest.raises(Throttled):
        accept(alex, sent)
    assert stored() == before


def test_a_changed_content_hash_is_a_conflict(people, sent):
    before = stored()
    with pytest.raises(Conflict) as caught:
        accept(people["client_admin"], sent, content_sha256="0" * 64)
    assert caught.value.code == "changed"
    assert stored() == before
    assert accept(people["client_admin"], sent, content_sha256=sent.content_sha256)


@pytest.mark.parametrize("role", ["client_member", "staff_on_team", "firm_admin"])
def test_only_a_client_admin_decides(people, sent, role):
    before = stored()
    for attempt in (
        lambda: accept(people[role], sent),
        lambda: services.proposal_decline(actor=people[role], proposal=sent, reason="No"),
    ):
        with pytest.raises(Forbidden) as caught:
            attempt()
        assert caught.value.code == "client_admin_only"
    assert stored() == before


def test_other_clients_and_staff_off_the_team_see_nothing(people, sent):
    for role in ("other_client", "staff_off_team"):
        with pytest.raises(NotFound):
            accept(people[role], sent)


def test_clients_cannot_decide_on_a_draft(acme, people):
    draft = factories.proposal(acme, by=people["staff_on_team"])
    with pytest.raises(NotFound):
        accept(people["client_admin"], draft)


def test_an_expired_proposal_cannot_be_accepted(acme, people, sent):
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    sent.refresh_from_db()
    before = stored()
    for attempt in (
        lambda: accept(people["client_admin"], sent),
        lambda: services.proposal_decline(
            actor=people["client_admin"], proposal=sent, reason="Late"
        ),
    ):
        with pytest.raises(Conflict) as caught:
            attempt()
        assert caught.value.code == "expired"
    assert stored() == before


def test_valid_until_today_is_still_open(acme, people):
    made = factories.proposal(
        acme, by=people["staff_on_team"], valid_until=timezone.localdate(), sent=True
    )
    assert accept(people["client_admin"], made).status == ProposalStatus.ACCEPTED


def test_accepting_twice_is_a_conflict(people, sent):
    alex = people["client_admin"]
    accept(alex, sent)
    before = stored()
    with pytest.raises(Conflict) as caught:
        accept(alex, sent)
    assert caught.value.code == "not_open"
    # A stale copy of the proposal is checked again under the lock.
    stale = Proposal.objects.get(pk=sent.pk)
    stale.status = ProposalStatus.SENT
    with pytest.raises(Conflict):
        accept(alex, stale)
    assert stored() == before


# --- declining and withdrawing ------------------------------------------------------------


def test_declining_needs_a_reason_and_makes_no_invoice(people, sent, mailoutbox):
    alex = people["client_admin"]
    for reason, code in (("", "required"), (None, "required"), ("r" * 1001, "too_long")):
        with pytest.raises(Invalid) as caught:
            services.proposal_decline(actor=alex, proposal=sent, reason=reason)
        assert caught.value.fields == {"reason": code}
    mailoutbox.clear()
    declined = services.proposal_decline(actor=alex, proposal=sent, reason="Over budget", meta=META)
    assert declined.status == ProposalStatus.DECLINED and declined.invoice is None
    assert declined.decline_reason == "Over budget"
    [entry] = entries(sent, "proposal.declined")
    assert entry["payload"]["reason"] == "Over budget"
    assert entry["content_sha256"] == sent.content_sha256
    assert declined.ledger_index == entry["index"]
    assert frames(sent)[-1]["type"] == "proposal.declined"
    assert Invoice.objects.count() == 0
    with pytest.raises(Conflict):
        accept(alex, sent)


def test_the_team_withdraws_a_sent_proposal_with_a_reason(people, sent):
    staff = people["staff_on_team"]
    with pytest.raises(Forbidden):
        services.proposal_withdraw(actor=people["client_admin"], proposal=sent, reason="x")
    with pytest.raises(Invalid) as caught:
        services.proposal_withdraw(actor=staff, proposal=sent, reason=" ")
    assert caught.value.fields == {"reason": "required"}
    withdrawn = services.proposal_withdraw(actor=staff, proposal=sent, reason="Scope changed")
    assert withdrawn.status == ProposalStatus.WITHDRAWN
    assert entries(sent, "proposal.withdrawn")[0]["payload"]["reason"] == "Scope changed"
    with pytest.raises(Conflict) as late:
        accept(people["client_admin"], sent)
    assert late.value.code == "not_open"
    with pytest.raises(Conflict):
        services.proposal_withdraw(actor=staff, proposal=sent, reason="Again")


# --- views ------------------------------------------------------------------------------------


def test_a_clients_views_are_on_the_ledger_and_the_first_in_the_thread(people, sent):
    alex, morgan = people["client_admin"], people["client_member"]
    assert services.proposal_viewed(viewer=alex, proposal=sent, meta=META) is True
    assert services.proposal_viewed(viewer=alex, proposal=sent, meta=META) is False
    assert services.proposal_viewed(viewer=morgan, proposal=sent, meta=META) is True
    # The team's own views are not a client's.
    assert services.proposal_viewed(viewer=people["staff_on_team"], proposal=sent) is False
    assert len(entries(sent, "proposal.viewed")) == 3
    viewed = [f for f in frames(sent) if f["type"] == "proposal.viewed"]
    assert [f["by"]["name"] for f in viewed] == ["Alex Acme", "Morgan Member"]
    sent.refresh_from_db()
    assert sent.first_viewed_at is not None
