"""The security page: the password form and the list of signed-in browsers, each of which
can be signed out, or all but this one."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import SignedInSession, session_digest
from tests import factories
from tests.factories import PASSWORD

SECURITY = reverse("frontend:security")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
pytestmark = pytest.mark.django_db


def sign_in(person, agent: str, ip: str = "203.0.113.7") -> Client:
    browser = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = browser.post(
        reverse("frontend:login"), {"username": person.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]
    return browser


def key_of(browser: Client) -> str:
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


def test_signing_in_indexes_the_session_by_digest_only():
    person = factories.user()
    browser = sign_in(person, CHROME)
    row = SignedInSession.objects.get(user=person)
    assert row.key_digest == session_digest(key_of(browser))
    assert key_of(browser) not in str(list(SignedInSession.objects.values()))
    assert (row.device, row.ip) == ("Chrome on Windows", "203.0.113.7")


def test_the_page_lists_each_browser_this_one_first(settings):
    settings.TIME_ZONE = "UTC"
    person = factories.user()
    person.time_zone = "Asia/Tokyo"
    person.save(update_fields=["time_zone"])
    phone = sign_in(person, IPHONE, ip="198.51.100.4")
    desk = sign_in(person, CHROME)
    body = desk.get(SECURITY).content.decode()
    assert body.index("Chrome on Windows") < body.index("Mobile Safari on iOS (iPhone)")
    assert "This browser" in body and "198.51.100.4" in body
    # Dates in the person's zone (Tokyo is UTC+9): the row's time as it is rendered.
    row = SignedInSession.objects.get(key_digest=session_digest(key_of(phone)))
    from zoneinfo import ZoneInfo

    local = row.signed_in_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert local in body
    assert phone.get(SECURITY).status_code == 200


def test_signing_out_one_browser_ends_its_session():
    person = factories.user()
    phone = sign_in(person, IPHONE)
    desk = sign_in(person, CHROME)
    row = SignedInSession.objects.get(key_digest=session_digest(key_of(phone)))
    response = desk.post(reverse("frontend:session_sign_out", args=[row.public_id]))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key_of(phone)).exists()
    assert phone.get(SECURITY).status_code == 302  # to the sign-in page
    assert desk.get(SECURITY).status_code == 200


def test_this_browser_is_not_signed_out_from_the_list():
    person = factories.user()
    desk = sign_in(person, CHROME)
    row = SignedInSession.objects.get(user=person)
    desk.post(reverse("frontend:session_sign_out", args=[row.public_id]))
    assert desk.get(SECURITY).status_code == 200


@pytest.mark.parametrize("target", ["someone_elses", "unknown", "malformed"])
def test_another_persons_session_is_not_found(target):
    person, stranger = factories.user(), factories.user()
    theirs = sign_in(stranger, CHROME)
    desk = sign_in(person, CHROME)
    session_id = {
        "someone_elses": SignedInSession.objects.get(user=stranger).public_id,
        "unknown": "ses_aaaaaaaaaaaaaaaaaaaaaaaa",
        "malformed": "nonsense",
    }[target]
    response = desk.post(reverse("frontend:session_sign_out", args=[session_id]))
    assert response.status_code == 404
    assert theirs.get(SECURITY).status_code == 200


def test_sign_out_everywhere_else():
    person = factories.user()
    others = [sign_in(person, IPHONE), sign_in(person, CHROME)]
    stranger = sign_in(factories.user(), CHROME)
    desk = sign_in(person, CHROME)
    response = desk.post(reverse("frontend:sessions_sign_out_others"), follow=True)
    assert "Signed out everywhere else (2 browsers)." in response.content.decode()
    assert all(b.get(SECURITY).status_code == 302 for b in others)
    assert desk.get(SECURITY).status_code == 200
    assert stranger.get(SECURITY).status_code == 200
    assert SignedInSession.objects.filter(user=person).count() == 1


def test_anonymous_and_get_on_actions():
    anonymous = Client()
    assert anonymous.get(SECURITY).status_code == 302
    assert anonymous.post(reverse("frontend:sessions_sign_out_others")).status_code == 302
    desk = sign_in(factories.user(), CHROME)
    assert desk.get(reverse("frontend:sessions_sign_out_others")).status_code == 405


def test_the_list_costs_the_same_queries_however_many_browsers():
    person = factories.user()
    desk = sign_in(person, CHROME)
    desk.get(SECURITY)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk.get(SECURITY).status_code == 200
        return len(queries)

    one = count()
    for _ in range(6):
        sign_in(person, IPHONE)
    assert count() == one


def test_password_form_errors_show_on_the_page():
    person = factories.user()
    desk = sign_in(person, CHROME)
    response = desk.post(
        reverse("frontend:password_change"),
        {
            "current_password": "wrong",
            "new_password1": "x-long-passphrase-1",
            "new_password2": "x-long-passphrase-1",
        },
    )
    assert response.status_code == 400
    assert response.context["password_form"].errors["current_password"]
    mismatch = desk.post(
        reverse("frontend:password_change"),
        {
            "current_password": PASSWORD,
            "new_password1": "x-long-passphrase-1",
            "new_password2": "other-passphrase-2",
        },
    )
    assert mismatch.context["password_form"].errors["new_password2"]
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
