"""Signing in and out, and the throttling of repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.db.models import F
from django.test import Client
from django.urls import reverse

from accounts.services.firm import firm_get
from accounts.services.users import user_create
from tests import factories

LOGIN = reverse("frontend:login")
HOME = reverse("frontend:home")
LOGOUT = reverse("frontend:logout")
WRONG = "not-the-password"


def sign_in(client, email, password=factories.PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def signed_in_as(client):
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


@pytest.fixture
def person(db):
    return factories.user(email="pat@example.test", name="Pat Person")


def test_the_login_page_renders(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "Sign in to" in response.content.decode()


def test_sign_in_with_the_right_password(client, person):
    response = sign_in(client, "pat@example.test")
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert signed_in_as(client) == person.pk
    assert client.get(HOME).status_code == 200


def test_the_email_is_case_insensitive(client, person):
    response = sign_in(client, "  PAT@Example.TEST ")
    assert response.status_code == 302
    assert signed_in_as(client) == person.pk


def test_a_wrong_password_is_refused(client, person):
    response = sign_in(client, "pat@example.test", WRONG)
    assert response.status_code == 200
    assert "That e-mail address and password do not match an account." in (
        response.content.decode()
    )
    assert signed_in_as(client) is None


def test_an_unknown_address_gets_the_same_answer(client, person):
    response = sign_in(client, "nobody@example.test")
    assert response.status_code == 200
    assert "That e-mail address and password do not match an account." in (
        response.content.decode()
    )
    assert signed_in_as(client) is None


def test_an_inactive_user_cannot_sign_in(client, db):
    factories.user(email="gone@example.test", active=False)
    response = sign_in(client, "gone@example.test")
    assert response.status_code == 200
    assert signed_in_as(client) is None
    assert client.get(HOME).status_code == 302


def test_a_deactivated_session_stops_working(client, person):
    client.force_login(person)
    assert client.get(HOME).status_code == 200
    person.is_active = False
    person.save()
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_passwords_are_hashed_with_argon2(client, db):
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = user_create(email="hash@example.test", name="Hal Hash", password="a-fine-passphrase-9")
    assert user.password.startswith("argon2")
    assert "a-fine-passphrase-9" not in user.password
    assert sign_in(client, "hash@example.test", "a-fine-passphrase-9").status_code == 302


def test_an_older_hash_is_upgraded_to_argon2_on_sign_in(client, person):
    person.password = make_password(factories.PASSWORD, hasher="pbkdf2_sha256")
    person.save()
    assert sign_in(client, "pat@example.test").status_code == 302
    person.refresh_from_db()
    assert person.password.startswith("argon2")


def test_the_session_key_rotates_on_sign_in(client, person):
    before = client.session
    before["seen"] = True
    before.save()
    old_key = before.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key

    assert sign_in(client, "pat@example.test").status_code == 302
    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert signed_in_as(client) == person.pk


def test_a_signed_in_user_visiting_login_goes_home(client, person):
    client.force_login(person)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_logout_is_post_only(client, person):
    client.force_login(person)
    assert client.get(LOGOUT).status_code == 405
    assert signed_in_as(client) == person.pk
    assert client.get(HOME).status_code == 200


def test_logout_ends_the_session(client, person):
    client.force_login(person)
    key = client.session.session_key
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not Session.objects.filter(session_key=key).exists()
    assert signed_in_as(client) is None
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_logout_needs_the_csrf_token(person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    assert client.post(LOGOUT).status_code == 403
    assert client.get(HOME).status_code == 200


def test_next_is_honoured_but_only_on_this_site(client, person, acme):
    target = reverse("frontend:account", args=[acme.public_id])
    response = client.post(
        LOGIN, {"username": "pat@example.test", "password": factories.PASSWORD, "next": target}
    )
    assert response["Location"] == target
    client.logout()
    response = client.post(
        LOGIN,
        {
            "username": "pat@example.test",
            "password": factories.PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == HOME


# --- throttling --------------------------------------------------------------------------


def fail_until_the_limit(client, email):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, email, WRONG)
        if attempt < settings.AXES_FAILURE_LIMIT - 1:
            assert response.status_code == 200, attempt


def assert_locked_out(response):
    assert response.status_code == 429
    assert "frontend/locked_out.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Too many sign-in attempts" in body
    assert firm_get().name in body
    assert "--brand-primary" in body


def test_the_limit_locks_the_address_out_even_with_the_right_password(client, person):
    fail_until_the_limit(client, "pat@example.test")
    response = sign_in(client, "pat@example.test")
    assert_locked_out(response)
    assert signed_in_as(client) is None


def test_the_lock_out_page_says_how_long_in_words(client, person):
    fail_until_the_limit(client, "pat@example.test")
    body = sign_in(client, "pat@example.test").content.decode()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"for {minutes} minutes" in body
    assert "PT" not in body.split("paused", 1)[1][:40]


def test_failures_count_whatever_the_case_of_the_address(client, person):
    spellings = ["pat@example.test", "PAT@example.test", "Pat@Example.Test"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, spellings[attempt % len(spellings)], WRONG)
    assert_locked_out(sign_in(client, "pAT@example.test"))


def test_another_address_from_the_same_ip_is_not_locked(client, person):
    other = factories.user(email="other@example.test")
    fail_until_the_limit(client, "pat@example.test")
    assert_locked_out(sign_in(client, "pat@example.test"))

    response = sign_in(client, "other@example.test")
    assert response.status_code == 302
    assert signed_in_as(client) == other.pk


def test_the_same_address_from_another_ip_is_not_locked(client, person):
    fail_until_the_limit(client, "pat@example.test")
    assert_locked_out(sign_in(client, "pat@example.test"))
    response = sign_in(client, "pat@example.test", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert signed_in_as(client) == person.pk


def test_a_success_before_the_limit_resets_the_count(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "pat@example.test", WRONG)
    assert sign_in(client, "pat@example.test").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "pat@example.test", WRONG).status_code == 200
    assert sign_in(client, "pat@example.test").status_code == 302


def test_the_lock_out_lifts_after_the_cool_off(client, person):
    fail_until_the_limit(client, "pat@example.test")
    assert_locked_out(sign_in(client, "pat@example.test"))
    assert AccessAttempt.objects.exists()

    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = sign_in(client, "pat@example.test")
    assert response.status_code == 302
    assert signed_in_as(client) == person.pk


def test_the_lock_out_holds_until_the_cool_off_is_over(client, person):
    fail_until_the_limit(client, "pat@example.test")
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    )
    assert_locked_out(sign_in(client, "pat@example.test"))


def test_the_admin_login_is_throttled_too(client, db):
    factories.firm_admin(email="boss@example.test")
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(admin_login, {"username": "boss@example.test", "password": WRONG})
    response = client.post(
        admin_login, {"username": "boss@example.test", "password": factories.PASSWORD}
    )
    assert response.status_code == 429
    assert signed_in_as(client) is None


# --- throttling per client address, across e-mail addresses ----------------------------------


@pytest.fixture
def quick_guesses(settings):
    """Wrong guesses for unknown addresses hash a dummy password with the first hasher:
    a fast one here, as these tests make dozens of them."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


def fail_across_addresses(client, failures: int, **extra) -> list:
    """``failures`` wrong passwords from one client address, spread over as many e-mail
    addresses as needed to keep each below the per-address limit."""
    per_address = settings.AXES_FAILURE_LIMIT - 1
    responses = []
    for number in range(failures):
        email = f"guess{number // per_address}@example.test"
        responses.append(sign_in(client, email, WRONG, **extra))
    return responses


def test_one_ip_failing_across_addresses_is_locked_out_of_every_address(
    client, person, quick_guesses, caplog
):
    limit = settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT
    assert limit == 50  # the documented default
    responses = fail_across_addresses(client, limit)
    assert [r.status_code for r in responses[:-1]] == [200] * (limit - 1)
    assert "locked out for every address" in caplog.text
    # The right password for an address never tried from here: refused all the same.
    response = sign_in(client, "pat@example.test")
    assert_locked_out(response)
    assert "signing in from here is paused" in response.content.decode()
    assert signed_in_as(client) is None
    # Another client address is not held back.
    response = sign_in(client, "pat@example.test", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert signed_in_as(client) == person.pk


def test_the_ip_lock_out_lifts_after_the_cool_off(client, person, quick_guesses, settings):
    settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT = 9
    fail_across_addresses(client, 9)
    assert_locked_out(sign_in(client, "pat@example.test"))
    # Trying while locked out keeps it locked (the cool-off counts from the last try) ...
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    )
    assert_locked_out(sign_in(client, "pat@example.test"))
    # ... and once nothing was tried for the cool-off, it is over.
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = sign_in(client, "pat@example.test")
    assert response.status_code == 302
    assert signed_in_as(client) == person.pk


def test_fewer_failures_than_the_ip_limit_lock_nobody_else_out(
    client, person, quick_guesses, settings
):
    settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT = 9
    responses = fail_across_addresses(client, 8)
    assert {r.status_code for r in responses} == {200}
    assert sign_in(client, "pat@example.test").status_code == 302


def test_the_ip_limit_covers_the_admin_login(client, db, quick_guesses, settings):
    settings.ATRIUM_LOGIN_IP_FAILURE_LIMIT = 9
    factories.firm_admin(email="boss@example.test")
    fail_across_addresses(client, 9)
    response = client.post(
        reverse("admin:login"), {"username": "boss@example.test", "password": factories.PASSWORD}
    )
    assert response.status_code == 429
    assert signed_in_as(client) is None
