"""Pages are rendered in the signed-in person's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from accounts.time_zones import TimeZoneMiddleware, is_time_zone, time_zone_names
from tests import factories

pytestmark = pytest.mark.django_db

NOON_UTC = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def render_noon(request) -> HttpResponse:
    template = Template('{{ at|date:"H:i e" }}')
    return HttpResponse(template.render(Context({"at": NOON_UTC})))


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("America/New_York", "08:00 EDT"),
        ("Asia/Tokyo", "21:00 JST"),
        ("", "12:00 UTC"),
        ("Gone/Zone", "12:00 UTC"),  # no longer known: the deployment's own
    ],
)
def test_a_date_is_rendered_in_the_persons_zone(settings, zone, shown):
    settings.TIME_ZONE = "UTC"
    person = factories.user()
    person.time_zone = zone
    request = RequestFactory().get("/")
    request.user = person
    response = TimeZoneMiddleware(render_noon)(request)
    assert response.content.decode() == shown
    # Only for that request.
    assert timezone.get_current_timezone_name() == "UTC"


def test_anonymous_pages_keep_the_deployments_zone(settings):
    from django.contrib.auth.models import AnonymousUser

    settings.TIME_ZONE = "UTC"
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert TimeZoneMiddleware(render_noon)(request).content.decode() == "12:00 UTC"


def test_zone_names_come_from_zoneinfo():
    names = time_zone_names()
    assert "Europe/Paris" in names and list(names) == sorted(names)
    assert is_time_zone("UTC") and not is_time_zone("Europe/Atlantis")


def test_the_middleware_runs_for_every_page(client, settings):
    assert "accounts.time_zones.TimeZoneMiddleware" in settings.MIDDLEWARE
    index = settings.MIDDLEWARE.index
    assert index("accounts.time_zones.TimeZoneMiddleware") > index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )
