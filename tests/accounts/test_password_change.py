"""Changing one's own password: the current one checked (wrong ones limited), the new one
validated, every other session and its sockets ended, this browser kept signed in."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.errors import Invalid, Throttled
from accounts.models import SignedInSession, session_digest
from accounts.services import passwords
from tests import factories
from tests.factories import PASSWORD
from tests.messaging.sockets import TIMEOUT, communicator, connected, session_cookie, session_key

NEW = "a-brand-new-passphrase-7"
API = reverse("api:me_password")
PAGE = reverse("frontend:password_change")


def other_browser(user) -> str:
    """A second signed-in browser's session key."""
    return factories.session_cookie(user).split("=", 1)[1]


def signed_in(key: str) -> bool:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client.get(reverse("api:me")).status_code == 200


# --- the service ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_change_ends_every_other_session_and_keeps_the_given_one():
    person = factories.user()
    kept, other, third = other_browser(person), other_browser(person), other_browser(person)
    stranger_key = other_browser(factories.user())
    ended = passwords.password_change(
        user=person, current_password=PASSWORD, new_password=NEW, keep_session_key=kept
    )
    assert ended == 2
    assert not Session.objects.filter(session_key__in=[other, third]).exists()
    assert Session.objects.filter(session_key__in=[kept, stranger_key]).count() == 2
    assert set(SignedInSession.objects.values_list("key_digest", flat=True)) == {
        session_digest(kept),
        session_digest(stranger_key),
    }
    person.refresh_from_db()
    assert person.check_password(NEW)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("current", "new", "fields"),
    [
        ("wrong-password", NEW, {"current_password": "wrong"}),
        ("", NEW, {"current_password": "required"}),
        (None, NEW, {"current_password": "required"}),
        (PASSWORD, "", {"new_password": "required"}),
        (PASSWORD, None, {"new_password": "required"}),
        (PASSWORD, "short", {"new_password": "weak"}),
        (PASSWORD, "password123", {"new_password": "weak"}),
        (PASSWORD, "1234567890123", {"new_password": "weak"}),
        (PASSWORD, PASSWORD, {"new_password": "unchanged"}),
        (PASSWORD, "x" * 2000, {"new_password": "too_long"}),
    ],
)
def test_bad_input_changes_nothing(current, new, fields):
    person = factories.user()
    other = other_browser(person)
    before = person.password
    with pytest.raises(Invalid) as caught:
        passwords.password_change(
            user=person, current_password=current, new_password=new, keep_session_key=None
        )
    assert caught.value.fields == fields
    person.refresh_from_db()
    assert person.password == before
    assert Session.objects.filter(session_key=other).exists()


@pytest.mark.django_db
def test_wrong_current_passwords_are_limited_per_person(settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 3, "window": 900}
    person, bystander = factories.user(), factories.user()
    for _ in range(3):
        with pytest.raises(Invalid):
            passwords.password_change(
                user=person, current_password="guess", new_password=NEW, keep_session_key=None
            )
    # Now even the right password is refused until the window ends.
    with pytest.raises(Throttled) as caught:
        passwords.password_change(
            user=person, current_password=PASSWORD, new_password=NEW, keep_session_key=None
        )
    assert caught.value.status == 429
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
    # Someone else is not affected; a weak new password is not a wrong current one.
    for _ in range(4):
        with pytest.raises(Invalid):
            passwords.password_change(
                user=bystander,
                current_password=PASSWORD,
                new_password="short",
                keep_session_key=None,
            )
    passwords.password_change(
        user=bystander, current_password=PASSWORD, new_password=NEW, keep_session_key=None
    )


# --- the API -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_changes_the_password_and_keeps_the_caller_signed_in(client):
    person = factories.user()
    client.force_login(person)
    other = other_browser(person)
    response = client.post(
        API,
        json.dumps({"current_password": PASSWORD, "new_password": NEW}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"sessions_ended": 1}
    assert client.get(reverse("api:me")).status_code == 200
    assert not signed_in(other)
    # The index follows this browser's new key.
    assert SignedInSession.objects.filter(
        user=person, key_digest=session_digest(client.session.session_key)
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        (
            {"current_password": "nope", "new_password": NEW},
            400,
            "invalid",
            {"current_password": "wrong"},
        ),
        (
            {"current_password": PASSWORD, "new_password": "short"},
            400,
            "invalid",
            {"new_password": "weak"},
        ),
        ({"current_password": PASSWORD}, 400, "invalid", {"new_password": "required"}),
        (
            {"current_password": PASSWORD, "new_password": NEW, "x": 1},
            400,
            "unknown_field",
            {"x": "unknown"},
        ),
        (
            {"current_password": PASSWORD, "new_password": ["a"]},
            400,
            "invalid",
            {"new_password": "required"},
        ),
    ],
)
def test_api_bad_input_is_precise_and_writes_nothing(client, body, status, code, fields):
    person = factories.user()
    client.force_login(person)
    other = other_browser(person)
    before = person.password
    response = client.post(API, json.dumps(body), content_type="application/json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["fields"] == fields
    person.refresh_from_db()
    assert person.password == before
    assert signed_in(other)


@pytest.mark.django_db
def test_api_refuses_after_too_many_wrong_passwords(client, settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 2, "window": 900}
    person = factories.user()
    client.force_login(person)
    wrong = json.dumps({"current_password": "nope", "new_password": NEW})
    right = json.dumps({"current_password": PASSWORD, "new_password": NEW})
    for _ in range(2):
        assert client.post(API, wrong, content_type="application/json").status_code == 400
    response = client.post(API, right, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"


@pytest.mark.django_db
def test_api_anonymous_and_wrong_method(client):
    assert client.post(API, "{}", content_type="application/json").status_code == 401
    client.force_login(factories.user())
    assert client.get(API).status_code == 405


# --- the page, and the sockets of the other sessions ---------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_page_ends_the_other_browsers_sockets_and_keeps_this_one_signed_in():
    person = await database_sync_to_async(factories.user)()
    browser = Client()
    await database_sync_to_async(browser.force_login)(person)
    other_cookie = await session_cookie(person)  # another browser, its own session
    other_ws, _ = await connected(person, other_cookie)
    this_cookie = (
        f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    )
    this_ws, _ = await connected(person, this_cookie.encode())

    response = await database_sync_to_async(browser.post)(
        PAGE,
        {"current_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302

    # The other browser's socket is told its session ended, and closed.
    error = await other_ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "signed_out")
    assert await other_ws.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    # This browser stays signed in under a new session key (its old socket, bound to the old
    # key, is closed too; the page opens a new one, which is accepted).
    page = await database_sync_to_async(browser.get)(reverse("frontend:security"))
    assert page.status_code == 200
    assert "Your password was changed. 1 other browser(s) were signed out." in page.content.decode()
    new_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != session_key(this_cookie.encode())
    fresh, hello = await connected(person, f"{settings.SESSION_COOKIE_NAME}={new_key}".encode())
    assert hello["type"] == "hello"
    await fresh.disconnect()
    await this_ws.disconnect()
    # And the other browser cannot open a new one.
    refused = communicator(other_cookie)
    ok, _ = await refused.connect(timeout=TIMEOUT)
    if ok:  # accepted, then closed at once
        assert (await refused.receive_output(timeout=TIMEOUT))["type"] == "websocket.close"


@pytest.mark.django_db(transaction=True)
async def test_signing_out_one_browser_closes_its_sockets_and_no_other():
    from accounts.models import SignedInSession
    from accounts.services import sessions

    person = await database_sync_to_async(factories.user)()
    gone_cookie, kept_cookie = await session_cookie(person), await session_cookie(person)
    gone_ws, _ = await connected(person, gone_cookie)
    kept_ws, _ = await connected(person, kept_cookie)

    def sign_out_one() -> None:
        row = SignedInSession.objects.get(key_digest=session_digest(session_key(gone_cookie)))
        sessions.session_end(user=person, session_id=row.public_id)

    await database_sync_to_async(sign_out_one)()
    error = await gone_ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "signed_out")
    assert await gone_ws.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    assert await kept_ws.receive_nothing(timeout=1)
    await kept_ws.disconnect()
