"""Payment reminders (``billing.services.reminders``, ``billing.tasks.invoice_reminders``):
queued for their two moments when an invoice is sent with a due date, and when the task runs,
one reminder before the due date and one after it, each once, as an e-mail with a link to
the client's people and an ``invoice.reminded`` event; none for paid, void, draft invoices,
credit notes or invoices without a balance."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing.models import BillingSettings, Invoice, Status
from billing.services.payments import payment_record
from billing.tasks import invoice_reminders
from messaging.models import Event, Notification
from tests import factories

TASK = "billing.tasks.invoice_reminders"


def day(offset: int):
    return timezone.localdate() + timedelta(days=offset)


def local(on, hour=0):
    return timezone.make_aware(datetime.combine(on, time(hour)))


def queued() -> list[datetime]:
    return sorted(DBTaskResult.objects.filter(task_path=TASK).values_list("run_after", flat=True))


def reminded_frames() -> list[dict]:
    return [
        json.loads(frame)
        for frame in Event.objects.filter(type="invoice.reminded")
        .order_by("pk")
        .values_list("frame", flat=True)
    ]


@pytest.fixture
def days(db):
    BillingSettings.objects.update_or_create(
        singleton=True, defaults={"reminder_days_before": 3, "reminder_days_after": 7}
    )


def sent_due(account, by, offset: int, **given):
    return factories.invoice(account, by=by, sent=True, due=day(offset), **given)


def run(django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return invoice_reminders.call()


def test_sending_queues_the_two_moments(acme, people, days, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sent_due(acme, people["staff_on_team"], 30)
    assert queued() == [local(day(27)), local(day(37))]


def test_a_draft_or_no_due_date_queues_nothing(
    acme, people, days, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        factories.invoice(acme, by=people["staff_on_team"], due=day(30))
        factories.invoice(acme, by=people["staff_on_team"], sent=True)
    assert queued() == []


def test_a_payment_queues_nothing(acme, people, days, django_capture_on_commit_callbacks):
    invoice = sent_due(acme, people["staff_on_team"], 30)
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            actor=people["staff_on_team"], invoice=invoice, amount="100.00", method="cash"
        )
    assert queued() == []


def test_the_reminder_before_goes_once(
    acme, people, days, settings, django_capture_on_commit_callbacks
):
    settings.ATRIUM_BASE_URL = "https://portal.example.com"
    far = sent_due(acme, people["staff_on_team"], 4)
    near = sent_due(acme, people["staff_on_team"], 3)
    assert run(django_capture_on_commit_callbacks) == {"before": [near.public_id], "after": []}
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.reminded_before_at is not None and far.reminded_before_at is None
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [people["client_admin"].email, people["client_member"].email]
    )
    message = mail.outbox[0]
    assert f"https://portal.example.com/invoices/{near.public_id}/" in message.body
    assert "1200.00 EUR" in message.body and message.attachments == []
    assert "is due on" in message.subject
    [frame] = reminded_frames()
    assert frame["invoice"]["id"] == near.public_id
    assert frame["reminder"] == "before"
    assert frame["by"] is None
    told = set(Notification.objects.filter(kind="invoice").values_list("user__name", flat=True))
    assert told == {people["client_admin"].name, people["client_member"].name}
    # Once: a second run, even later on, sends nothing more before the due date.
    mail.outbox.clear()
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": []}
    assert mail.outbox == [] and len(reminded_frames()) == 1


def test_the_reminder_after_goes_once(acme, people, days, django_capture_on_commit_callbacks):
    not_yet = sent_due(acme, people["staff_on_team"], -6)
    late = sent_due(acme, people["staff_on_team"], -7)
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": [late.public_id]}
    late.refresh_from_db()
    not_yet.refresh_from_db()
    assert late.reminded_after_at is not None and not_yet.reminded_after_at is None
    assert late.reminded_before_at is None
    assert len(mail.outbox) == 2 and "overdue" in mail.outbox[0].subject
    assert "was due on" in mail.outbox[0].body
    assert [f["reminder"] for f in reminded_frames()] == ["after"]
    mail.outbox.clear()
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": []}
    assert mail.outbox == []


def test_one_invoice_gets_both_in_turn(acme, people, days, django_capture_on_commit_callbacks):
    invoice = sent_due(acme, people["staff_on_team"], 2)
    assert run(django_capture_on_commit_callbacks)["before"] == [invoice.public_id]
    Invoice.objects.filter(pk=invoice.pk).update(due_date=day(-8))
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": [invoice.public_id]}
    assert [f["reminder"] for f in reminded_frames()] == ["before", "after"]


def test_past_due_without_the_first_gets_only_the_second(
    acme, people, days, django_capture_on_commit_callbacks
):
    invoice = sent_due(acme, people["staff_on_team"], -10)
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": [invoice.public_id]}
    invoice.refresh_from_db()
    assert invoice.reminded_before_at is None


def test_a_partly_paid_invoice_is_reminded_of_its_balance(
    acme, people, days, django_capture_on_commit_callbacks
):
    invoice = sent_due(acme, people["staff_on_team"], 1)
    payment_record(actor=people["staff_on_team"], invoice=invoice, amount="200.00", method="cash")
    mail.outbox.clear()
    assert run(django_capture_on_commit_callbacks)["before"] == [invoice.public_id]
    assert "1000.00 EUR" in mail.outbox[0].body


def test_none_for_paid_void_draft_credited_or_credit_notes(
    acme, people, days, django_capture_on_commit_callbacks
):
    staff = people["staff_on_team"]
    paid = sent_due(acme, staff, 1)
    payment_record(actor=staff, invoice=paid, amount="1200.00", method="cash")
    void = sent_due(acme, staff, -8)
    Invoice.objects.filter(pk=void.pk).update(status=Status.VOID)
    factories.invoice(acme, by=staff, due=day(1))  # a draft
    factories.invoice(acme, by=staff, due=day(-8))  # a draft, past due
    credited = sent_due(acme, staff, -8)
    Invoice.objects.filter(pk=credited.pk).update(credited=Decimal("1200.00"))
    note = sent_due(acme, staff, -8)
    Invoice.objects.filter(pk=note.pk).update(kind="credit_note", corrects=credited)
    mail.outbox.clear()
    before = Event.objects.count()
    assert run(django_capture_on_commit_callbacks) == {"before": [], "after": []}
    assert mail.outbox == []
    assert Event.objects.count() == before


def test_the_days_come_from_the_settings(acme, people, django_capture_on_commit_callbacks):
    BillingSettings.objects.update_or_create(
        singleton=True, defaults={"reminder_days_before": 0, "reminder_days_after": 0}
    )
    tomorrow = sent_due(acme, people["staff_on_team"], 1)
    today = sent_due(acme, people["staff_on_team"], 0)
    yesterday = sent_due(acme, people["staff_on_team"], -1)
    result = run(django_capture_on_commit_callbacks)
    # 0 days after still means overdue: the day after the due date, not the day itself.
    assert result == {"before": [today.public_id], "after": [yesterday.public_id]}
    tomorrow.refresh_from_db()
    assert tomorrow.reminded_before_at is None


def test_a_mail_outage_keeps_the_reminder(
    acme, people, days, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from billing.services import reminders

    def broken(**_):
        raise OSError("smtp down")

    monkeypatch.setattr(reminders, "send_branded_mail", broken)
    invoice = sent_due(acme, people["staff_on_team"], 1)
    assert run(django_capture_on_commit_callbacks)["before"] == [invoice.public_id]
    assert "failed" in caplog.text
    assert run(django_capture_on_commit_callbacks)["before"] == []
