"""Fixtures of the projects tests: Acme's people (``people``), a matter of Acme with a plan,
and what a change to a plan leaves behind (its thread events and notifications)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from messaging.models import Event, Notification, Thread
from tests import factories


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def plan_frames(thread: Thread | None = None, prefix: str = "") -> list[dict]:
    """The plan's events (``task.*``, ``milestone.*``, ``matter.plan``), oldest first."""
    events = Event.objects.filter(message__isnull=True).order_by("thread_id", "seq")
    if thread is not None:
        events = events.filter(thread=thread)
    frames = [json.loads(frame) for frame in events.values_list("frame", flat=True)]
    kinds = ("task.", "milestone.", "matter.plan")
    return [f for f in frames if f["type"].startswith(kinds) and f["type"].startswith(prefix)]


def told(kind: str = "task") -> set[str]:
    """Names of the people notified of ``kind``."""
    return set(Notification.objects.filter(kind=kind).values_list("user__name", flat=True))


@pytest.fixture
def plan(acme, people):
    """Acme's "Website relaunch": one milestone with a task for Morgan (a client member), a
    task for "the client", and a task for Sam (staff on the team)."""
    return factories.website_plan(
        acme, lead=people["staff_on_team"], member=people["client_member"], due=dt.date(2027, 1, 15)
    )
