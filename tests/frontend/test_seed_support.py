"""The demo's support desk (``seed_demo``, frontend/management/demo_support.py): what it makes,
and that a second run changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from messaging.models import Message
from support.models import Category, Queue, RoutingRule, SlaTarget, SupportSettings, Ticket

pytestmark = pytest.mark.django_db


class _Sink:
    def write(self, *_args, **_kwargs) -> None:
        pass


@pytest.fixture
def seeded(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=_Sink())


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Category, SlaTarget, Queue, RoutingRule, Ticket, Message, SupportSettings)
    }


def test_the_demo_has_a_support_desk(seeded, settings):
    status = Category.objects.get(name="Project status")
    assert status.is_status and not Category.objects.get(name="Billing").is_status
    assert (
        SlaTarget.objects.get(
            category__name="Technical question", priority="urgent"
        ).first_response_minutes
        == 30
    )
    queue = Queue.objects.get(name="Implementation engineers")
    assert set(queue.members.values_list("email", flat=True)) == {
        "staff@atrium.test",
        "counsel@atrium.test",
    }
    rule = RoutingRule.objects.get(name="Integrations to the engineers")
    assert (rule.queue, rule.keywords) == (queue, "API\nSSO\nintegration")
    calendar = SupportSettings.objects.get()
    assert calendar.time_zone == settings.TIME_ZONE
    assert calendar.hours["mon"] == [["09:00", "17:30"]] and calendar.hours["sat"] == []
    assert len(calendar.holidays) == 2


def test_the_demo_has_acme_tickets_in_three_states(seeded):
    tickets = {t.subject: t for t in Ticket.objects.filter(account__slug="acme")}
    sso = tickets["SSO sign-in fails for our new starters"]
    # Routed by its keyword to the queue, to the member on Acme's team; answered by staff.
    assert (sso.queue.name, sso.assignee.email) == ("Implementation engineers", "staff@atrium.test")
    assert sso.status == "waiting_on_client" and sso.first_response_at is not None
    assert tickets["Where are we with the help desk migration?"].status == "open"
    assert (
        tickets["Where are we with the help desk migration?"].opened_by.email == "member@acme.test"
    )
    resolved = tickets["The last invoice shows our old address"]
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert resolved.opened_by.email == "client@acme.test"


def test_seeding_again_changes_no_support_row(seeded):
    before = _counts()
    call_command("seed_demo", stdout=_Sink())
    assert _counts() == before
