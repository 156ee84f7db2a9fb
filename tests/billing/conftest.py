"""Helpers of the invoice tests: drafts made through the service, and what a transition
left in the ledger and in the thread."""

from __future__ import annotations

import json

import pytest

from billing.services import invoices as services
from evidence.models import Entry
from messaging.models import Event

LINES = [
    {"description": "Design", "quantity": "2", "unit_price": "500.00", "tax_rate": "20"},
    {"description": "Hosting", "quantity": "1", "unit_price": "9.99", "tax_rate": "7"},
]


def draft(actor, account, **fields):
    return services.invoice_create(
        actor=actor,
        account=account,
        currency=fields.pop("currency", "EUR"),
        lines=fields.pop("lines", LINES),
        **fields,
    )


def sent(actor, account, **fields):
    return services.invoice_send(actor=actor, invoice=draft(actor, account, **fields))


def ledger_kinds(subject: str) -> list[str]:
    return list(
        Entry.objects.filter(subject=subject).order_by("index").values_list("kind", flat=True)
    )


def ledger_payloads(subject: str, kind: str) -> list[dict]:
    return [
        json.loads(canonical)["payload"]
        for canonical in Entry.objects.filter(subject=subject, kind=kind)
        .order_by("index")
        .values_list("canonical", flat=True)
    ]


def thread_events(invoice) -> list[dict]:
    """The billing frames in the invoice's thread, oldest first."""
    return [
        json.loads(frame)
        for frame in Event.objects.filter(thread_id=invoice.thread_id, type__startswith="invoice.")
        .order_by("seq")
        .values_list("frame", flat=True)
    ]


@pytest.fixture
def staff(people):
    return people["staff_on_team"]
