"""Two-factor sign-in in the browser: setting it up, the second sign-in step (with the
lock-outs of the first still in force), the security page's controls, the firm's setting,
and the firm's rule on every page, the API and the socket."""

from __future__ import annotations

import re

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import two_factor
from accounts.services.firm import firm_get
from tests import factories
from tests.accounts.test_login import fail_until_the_limit
from tests.factories import PASSWORD
from tests.factories import totp_code as code_for
from tests.messaging.sockets import TIMEOUT, communicator, connected

LOGIN = reverse("frontend:login")
LOGIN_CODE = reverse("frontend:login_code")
HOME = reverse("frontend:home")
ENROL = reverse("frontend:two_factor")
CONFIRM = reverse("frontend:two_factor_confirm")
SECURITY = reverse("frontend:security")


def sign_in(client, person, password=PASSWORD):
    return client.post(LOGIN, {"username": person.email, "password": password})


def signed_in(client) -> bool:
    return client.session.get(SESSION_KEY) is not None


def enrol_through_the_page(client, otp_clock) -> tuple[TOTPDevice, list[str]]:
    page = client.get(ENROL)
    assert page.status_code == 200
    device = TOTPDevice(key=client.session["atrium_two_factor_key"])
    response = client.post(CONFIRM, {"code": code_for(device, otp_clock.value)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    codes = re.findall(
        r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", response.content.decode()
    )
    return TOTPDevice.objects.get(user_id=client.session[SESSION_KEY]), codes


# --- setting it up --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_enrolment_page_shows_a_qr_svg_and_the_secret_without_inline_style(client):
    person = factories.user()
    client.force_login(person)
    body = client.get(ENROL).content.decode()
    svg = body[body.index("<svg") : body.index("</svg>")]
    assert "style" not in svg and "script" not in svg
    device = TOTPDevice(key=client.session["atrium_two_factor_key"])
    assert two_factor.secret_text(device) in body
    assert not TOTPDevice.objects.exists()
    assert 'role="img"' in body and 'for="code_code"' in body


@pytest.mark.django_db
def test_enrolment_shows_ten_codes_once_and_turns_it_on(client, otp_clock):
    person = factories.user()
    client.force_login(person)
    _, codes = enrol_through_the_page(client, otp_clock)
    assert len(codes) == 10
    assert two_factor.enabled(person)
    page = client.get(SECURITY).content.decode()
    assert "10 recovery codes left" in page
    assert not any(code in page for code in codes)
    assert client.get(ENROL).status_code == 302  # already on


@pytest.mark.django_db
def test_a_wrong_enrolment_code_is_shown_and_nothing_turned_on(client):
    person = factories.user()
    client.force_login(person)
    client.get(ENROL)
    response = client.post(CONFIRM, {"code": "000000"})
    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    assert not two_factor.enabled(person)


# --- signing in -----------------------------------------------------------------------------


@pytest.fixture
def with_app(db, otp_clock):
    person = factories.user(email="two@example.test")
    device = two_factor.enrolment_device(user=person)
    codes = two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    device = TOTPDevice.objects.get(user=person)
    otp_clock.value += 30
    return person, device, codes


def test_the_password_alone_does_not_sign_in(client, with_app, otp_clock):
    person, device, _ = with_app
    response = sign_in(client, person)
    assert response["Location"] == LOGIN_CODE
    assert not signed_in(client)
    assert client.get(HOME)["Location"].startswith(LOGIN)
    response = client.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)})
    assert response.status_code == 302 and response["Location"] == HOME
    assert signed_in(client)
    assert client.get(HOME).status_code == 200


def test_a_replayed_code_does_not_sign_in_again(client, with_app, otp_clock):
    person, device, _ = with_app
    code = code_for(device, otp_clock.value)
    sign_in(client, person)
    client.post(LOGIN_CODE, {"code": code})
    assert signed_in(client)
    other = Client()
    sign_in(other, person)
    response = other.post(LOGIN_CODE, {"code": code})
    assert response.status_code == 400
    assert not signed_in(other)


def test_a_recovery_code_signs_in_once(client, with_app):
    person, _, codes = with_app
    sign_in(client, person)
    response = client.post(LOGIN_CODE, {"code": codes[3]}, follow=True)
    assert signed_in(client)
    assert "You used a recovery code; 9 left." in response.content.decode()
    other = Client()
    sign_in(other, person)
    assert other.post(LOGIN_CODE, {"code": codes[3]}).status_code == 400
    assert not signed_in(other)


def test_wrong_codes_are_limited_then_the_password_is_asked_again(
    client,
    with_app,
    otp_clock,
    settings,
):
    settings.ATRIUM_TWO_FACTOR_LIMIT = {"limit": 3, "window": 900}
    person, device, _ = with_app
    sign_in(client, person)
    for _ in range(3):
        assert client.post(LOGIN_CODE, {"code": "111111"}).status_code == 400
    response = client.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)})
    assert response["Location"] == LOGIN
    assert not signed_in(client)
    # Signing in again with the password does not reset the count.
    sign_in(client, person)
    assert client.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)})["Location"] == LOGIN
    assert not signed_in(client)


def test_the_password_lock_out_still_holds_for_people_with_two_factor(client, with_app):
    person, _, _ = with_app
    fail_until_the_limit(client, person.email)
    response = sign_in(client, person)
    assert response.status_code == 429
    assert not signed_in(client)


def test_the_code_step_expires(client, with_app, otp_clock, monkeypatch):
    person, device, _ = with_app
    sign_in(client, person)
    import frontend.views.accounts as account_views

    monkeypatch.setattr(account_views, "TWO_FACTOR_PENDING_SECONDS", -1)
    response = client.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)})
    assert response["Location"] == LOGIN
    assert not signed_in(client)


def test_the_code_step_without_a_password_goes_back_to_sign_in(client, db):
    assert client.get(LOGIN_CODE)["Location"] == LOGIN


def test_the_next_address_survives_the_code_step(client, with_app, otp_clock):
    person, device, _ = with_app
    target = reverse("frontend:threads")
    client.post(
        LOGIN + "?next=" + target, {"username": person.email, "password": PASSWORD, "next": target}
    )
    response = client.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)})
    assert response["Location"] == target


# --- turning it off, new codes ----------------------------------------------------------------


def test_turning_off_from_the_security_page(client, with_app, otp_clock):
    person, device, _ = with_app
    client.force_login(person)
    disable = reverse("frontend:two_factor_disable")
    wrong = client.post(
        disable, {"current_password": "nope", "code": code_for(device, otp_clock.value)}
    )
    assert wrong.status_code == 400
    assert wrong.context["disable_form"].errors["current_password"]
    assert two_factor.enabled(person)
    client.post(disable, {"current_password": PASSWORD, "code": code_for(device, otp_clock.value)})
    assert not two_factor.enabled(person)


def test_new_recovery_codes_from_the_security_page(client, with_app, otp_clock):
    person, device, old = with_app
    client.force_login(person)
    response = client.post(
        reverse("frontend:two_factor_recovery_codes"), {"code": code_for(device, otp_clock.value)}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "New recovery codes" in response.content.decode()
    assert two_factor.recovery_codes_left(person) == 10
    other = Client()
    sign_in(other, person)
    assert other.post(LOGIN_CODE, {"code": old[0]}).status_code == 400


# --- the firm's rule --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    ["firm_admin", "staff_on_team", "staff_off_team", "client_admin", "client_member", "anonymous"],
)
def test_only_firm_admins_change_the_firms_rule(client, people, role):
    if role != "anonymous":
        client.force_login(people[role])
    response = client.post(reverse("frontend:firm_two_factor"), {"require_two_factor": "on"})
    if role == "firm_admin":
        assert response.status_code == 302
        assert firm_get().require_two_factor is True
    else:
        assert response.status_code in (302, 404)
        if role == "anonymous":
            assert response["Location"].startswith(LOGIN)
        else:
            assert response.status_code == 404
        assert firm_get().require_two_factor is None


@pytest.mark.django_db
def test_the_branding_page_shows_the_rule(client, people, settings):
    settings.ATRIUM_REQUIRE_TWO_FACTOR = False
    client.force_login(people["firm_admin"])
    body = client.get(reverse("frontend:branding")).content.decode()
    assert "Require two-factor sign-in of firm admins and staff" in body
    client.post(reverse("frontend:firm_two_factor"), {})
    assert firm_get().require_two_factor is False


@pytest.fixture
def required(settings):
    settings.ATRIUM_REQUIRE_TWO_FACTOR = True


PAGES = [
    reverse("frontend:home"),
    reverse("frontend:threads"),
    reverse("frontend:profile"),
    reverse("frontend:security"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team"])
@pytest.mark.parametrize("page", PAGES)
def test_staff_without_two_factor_are_sent_to_set_it_up(client, people, required, role, page):
    client.force_login(people[role])
    response = client.get(page)
    assert response.status_code == 302 and response["Location"] == ENROL
    assert client.get(ENROL).status_code == 200
    assert "requires two-factor sign-in" in client.get(ENROL).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team"])
def test_the_api_refuses_staff_without_two_factor(client, people, required, role):
    client.force_login(people[role])
    for path in (reverse("api:me"), reverse("approvals_api:approvals")):
        response = client.get(path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "two_factor_required"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["client_admin", "client_member"])
def test_clients_are_not_held_by_the_rule(client, people, required, role):
    client.force_login(people[role])
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("api:me")).status_code == 200


@pytest.mark.django_db
def test_after_setting_it_up_staff_use_the_portal(client, people, required, otp_clock):
    client.force_login(people["staff_on_team"])
    enrol_through_the_page(client, otp_clock)
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("api:me")).status_code == 200
    # And it cannot be turned off while required.
    assert "so it stays on" in client.get(SECURITY).content.decode()


@pytest.mark.django_db
def test_a_session_signed_in_without_a_code_must_sign_in_again(client, people, required, otp_clock):
    person = people["staff_on_team"]
    device = two_factor.enrolment_device(user=person)
    two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    client.force_login(person)  # no code given in this session
    response = client.get(HOME)
    assert response["Location"].startswith(LOGIN)
    assert not signed_in(client)


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_staff_without_two_factor(people, required):
    ws = communicator(
        (await database_sync_to_async(factories.session_cookie)(people["staff_on_team"])).encode()
    )
    ok, _ = await ws.connect(timeout=TIMEOUT)
    assert not ok
    # A client is let in.
    client_ws, hello = await connected(people["client_member"])
    assert hello["type"] == "hello"
    await client_ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_accepts_staff_signed_in_with_a_code(people, required, otp_clock):
    person = people["staff_on_team"]
    browser = Client()

    def sign_in_with_code():
        device = two_factor.enrolment_device(user=person)
        two_factor.enrolment_confirm(
            user=person,
            key=device.key,
            code=code_for(device, otp_clock.value),
            keep_session_key=None,
        )
        device = TOTPDevice.objects.get(user=person)
        otp_clock.value += 30
        sign_in(browser, person)
        assert (
            browser.post(LOGIN_CODE, {"code": code_for(device, otp_clock.value)}).status_code == 302
        )
        return (
            f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        )

    cookie = await database_sync_to_async(sign_in_with_code)()
    ws, hello = await connected(person, cookie.encode())
    assert hello["type"] == "hello"
    await ws.disconnect()
