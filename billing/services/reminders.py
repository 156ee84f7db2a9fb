"""Payment reminders: one before an invoice's due date and one after it, each sent once
(``Invoice.reminded_before_at``, ``reminded_after_at``), while the invoice is open with a
balance.

The days are the firm's (``BillingSettings.reminder_days_before``, ``reminder_days_after``):
the first reminder goes from ``due - before`` up to the due date itself, the second from
``due + after`` on (at the earliest the day after the due date: it is about an overdue
invoice). ``invoice_reminders_run`` does whatever is due, for every invoice at
once, and is safe to run again or concurrently (each invoice is handled under its row lock
and re-checked there). It runs as a task (``billing.tasks.invoice_reminders``) queued, like
approvals' due dates, for the two moments of each invoice when it is sent
(``reminders_arm_on_send``); any run catches up on everything due, so an invoice whose
moments moved with the settings is reminded by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.mail import send_branded_mail
from billing import events, money
from billing.models import OPEN_STATUSES, Invoice, Kind, Status
from billing.selectors.json import invoice_url
from billing.selectors.settings import settings_get
from billing.services.lookups import invoice_locked
from billing.services.payments import client_people
from billing.services.record import thread_post

log = logging.getLogger(__name__)

BEFORE = "before"
AFTER = "after"


def start_of(day: date) -> datetime:
    """The first moment of ``day`` in the firm's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def moments(invoice: Invoice) -> list[datetime]:
    """When a reminder may fall due for ``invoice``: before and after its due date."""
    if invoice.due_date is None:
        return []
    firm = settings_get()
    return [
        start_of(invoice.due_date - timedelta(days=firm.reminder_days_before)),
        start_of(invoice.due_date + timedelta(days=max(1, firm.reminder_days_after))),
    ]


def schedule(invoice: Invoice) -> None:
    from billing.tasks import invoice_reminders

    for moment in moments(invoice):
        try:
            invoice_reminders.using(run_after=moment).enqueue()
        except Exception:
            # A later run (any invoice's) still finds this one due.
            log.exception("queueing the reminders of %s failed", invoice.public_id)


def reminders_arm_on_send(
    *, instance: Invoice, raw: bool = False, update_fields=None, **_signal
) -> None:
    """After an invoice is saved as sent with a due date (its sending, or a change of its
    due date while sent), queue the reminder task for its two moments once that commits."""
    if raw or instance.kind != Kind.INVOICE or instance.status != Status.SENT:
        return
    if instance.due_date is None:
        return
    if update_fields is not None and not {"status", "due_date"} & set(update_fields):
        return
    transaction.on_commit(lambda: schedule(instance))


def _open_with_balance():
    return Invoice.objects.filter(
        kind=Kind.INVOICE,
        status__in=OPEN_STATUSES,
        due_date__isnull=False,
        total__gt=F("paid") + F("credited"),
    )


@dataclass(frozen=True)
class ReminderRun:
    before: list[str]
    after: list[str]


def invoice_reminders_run(*, now: datetime | None = None) -> ReminderRun:
    """Send the reminders that are due: before the due date (from ``reminder_days_before``
    days ahead up to the day itself) and after it (from ``reminder_days_after`` days past),
    each once per invoice, to open invoices with a balance. Returns the public ids."""
    today = timezone.localdate(now) if now is not None else timezone.localdate()
    firm = settings_get()
    days_before = timedelta(days=firm.reminder_days_before)
    # After the due date means overdue: at the earliest the day after, whatever the days.
    days_after = timedelta(days=max(1, firm.reminder_days_after))
    before = []
    for pk in (
        _open_with_balance()
        .filter(
            reminded_before_at__isnull=True,
            reminded_after_at__isnull=True,
            due_date__gte=today,
            due_date__lte=today + days_before,
        )
        .values_list("pk", flat=True)
    ):
        if _remind(pk, BEFORE, today=today, days=days_before):
            before.append(pk)
    after = []
    for pk in (
        _open_with_balance()
        .filter(reminded_after_at__isnull=True, due_date__lte=today - days_after)
        .values_list("pk", flat=True)
    ):
        if _remind(pk, AFTER, today=today, days=days_after):
            after.append(pk)
    ids = dict(Invoice.objects.filter(pk__in=before + after).values_list("pk", "public_id"))
    run = ReminderRun([ids[pk] for pk in before], [ids[pk] for pk in after])
    if run.before or run.after:
        log.info("invoices: reminded before %s, after %s", run.before, run.after)
    return run


def _due(invoice: Invoice, which: str, *, today: date, days: timedelta) -> bool:
    if (
        invoice.kind != Kind.INVOICE
        or invoice.status not in OPEN_STATUSES
        or invoice.due_date is None
        or invoice.balance <= 0
    ):
        return False
    if which == BEFORE:
        return (
            invoice.reminded_before_at is None
            and invoice.reminded_after_at is None
            and today <= invoice.due_date <= today + days
        )
    return invoice.reminded_after_at is None and invoice.due_date <= today - days


def _remind(pk: int, which: str, *, today: date, days: timedelta) -> bool:
    with transaction.atomic():
        invoice = invoice_locked(Invoice(pk=pk))
        if not _due(invoice, which, today=today, days=days):
            return False
        field = "reminded_before_at" if which == BEFORE else "reminded_after_at"
        setattr(invoice, field, timezone.now())
        invoice.save(update_fields=[field])
        balance = f"{money.text(invoice.balance, invoice.currency)} {invoice.currency}"
        due = invoice.due_date.isoformat()
        summary = (
            f"Reminder: invoice {invoice.number} is due {due}, {balance} left to pay"
            if which == BEFORE
            else f"Reminder: invoice {invoice.number} was due {due}, {balance} still open"
        )
        people = client_people(invoice)
        thread_post(
            document=invoice,
            event_type=events.INVOICE_REMINDED,
            actor=None,
            summary=summary,
            notify=people,
            reminder=which,
        )
        transaction.on_commit(lambda: reminder_send(invoice, people, overdue=which == AFTER))
    return True


def reminder_send(invoice: Invoice, people, *, overdue: bool) -> int:
    """E-mail the reminder to the client's people, with a link to the invoice (never the
    invoice itself); returns how many were sent. A mail outage is logged, never raised."""
    url = settings.ATRIUM_BASE_URL.rstrip("/") + invoice_url(invoice.public_id)
    balance = money.text(invoice.balance, invoice.currency)
    subject = (
        f"Invoice {invoice.number} is overdue"
        if overdue
        else f"Invoice {invoice.number} is due on {invoice.due_date:%d %B %Y}"
    )
    sent = 0
    for person in people:
        try:
            send_branded_mail(
                to=[person.email],
                subject=subject,
                template="billing/email/invoice_reminder",
                context={
                    "person": person,
                    "invoice": invoice,
                    "balance": balance,
                    "overdue": overdue,
                    "url": url,
                },
            )
        except Exception:
            log.exception(
                "e-mailing the reminder of %s to %s failed", invoice.public_id, person.public_id
            )
            continue
        sent += 1
    return sent
