"""Re-authentication before a binding step: the password, then a code for people with
two-factor sign-in; each method named; wrong ones counted and limited."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import Invalid, Throttled
from accounts.services import two_factor
from accounts.services.reauth import reauthenticate
from tests import factories
from tests.factories import PASSWORD
from tests.factories import totp_code as code_for

pytestmark = pytest.mark.django_db


def enrolled(person, otp_clock) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.enrolment_device(user=person)
    codes = two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    # The enrolment code's time step is used; the next one is the person's next code.
    otp_clock.value += 30
    return TOTPDevice.objects.get(user=person), codes


def test_the_password_alone_for_someone_without_two_factor():
    person = factories.user()
    assert reauthenticate(user=person, password=PASSWORD, purpose="test") == "password"
    # A code sent anyway is not needed and not checked.
    assert reauthenticate(user=person, password=PASSWORD, code="123456", purpose="t") == "password"


@pytest.mark.parametrize(
    ("password", "fields"),
    [
        ("not it", {"password": "wrong"}),
        ("", {"password": "required"}),
        (None, {"password": "required"}),
        (123, {"password": "required"}),
    ],
)
def test_a_wrong_or_missing_password_is_refused(password, fields):
    with pytest.raises(Invalid) as caught:
        reauthenticate(user=factories.user(), password=password, purpose="test")
    assert caught.value.fields == fields


def test_an_app_code_after_the_password(otp_clock):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    method = reauthenticate(
        user=person, password=PASSWORD, code=code_for(device, otp_clock.value), purpose="test"
    )
    assert method == "password+totp"


def test_a_recovery_code_after_the_password_is_used_up(otp_clock):
    person = factories.user()
    _, codes = enrolled(person, otp_clock)
    assert reauthenticate(user=person, password=PASSWORD, code=codes[0], purpose="test") == (
        "password+recovery"
    )
    assert two_factor.recovery_codes_left(person) == 9
    with pytest.raises(Invalid) as caught:
        reauthenticate(user=person, password=PASSWORD, code=codes[0], purpose="test")
    assert caught.value.fields == {"code": "wrong"}


@pytest.mark.parametrize("code", [None, "", "   "])
def test_two_factor_people_must_give_a_code(otp_clock, code):
    person = factories.user()
    enrolled(person, otp_clock)
    with pytest.raises(Invalid) as caught:
        reauthenticate(user=person, password=PASSWORD, code=code, purpose="test")
    assert caught.value.fields == {"code": "required"}


def test_a_wrong_or_replayed_code_is_refused(otp_clock):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    with pytest.raises(Invalid) as wrong:
        reauthenticate(user=person, password=PASSWORD, code="000000", purpose="test")
    assert wrong.value.fields == {"code": "wrong"}
    code = code_for(device, otp_clock.value)
    assert reauthenticate(user=person, password=PASSWORD, code=code, purpose="test")
    with pytest.raises(Invalid) as replayed:
        reauthenticate(user=person, password=PASSWORD, code=code, purpose="test")
    assert replayed.value.fields == {"code": "wrong"}


def test_the_password_is_checked_before_the_code(otp_clock):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    with pytest.raises(Invalid) as caught:
        reauthenticate(
            user=person, password="guess", code=code_for(device, otp_clock.value), purpose="t"
        )
    assert caught.value.fields == {"password": "wrong"}
    # Without the password nobody learns that a code would be needed.
    with pytest.raises(Invalid) as without:
        reauthenticate(user=person, password="guess", purpose="t")
    assert without.value.fields == {"password": "wrong"}


def test_wrong_passwords_are_limited_per_person(settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 3, "window": 900}
    person, bystander = factories.user(), factories.user()
    for _ in range(3):
        with pytest.raises(Invalid):
            reauthenticate(user=person, password="guess", purpose="test")
    # Now even the right password is refused until the window ends.
    with pytest.raises(Throttled) as caught:
        reauthenticate(user=person, password=PASSWORD, purpose="test")
    assert caught.value.status == 429
    assert caught.value.fields == {"password": "too_many_attempts"}
    assert reauthenticate(user=bystander, password=PASSWORD, purpose="test") == "password"


def test_wrong_codes_are_limited_per_person(settings, otp_clock):
    settings.ATRIUM_TWO_FACTOR_LIMIT = {"limit": 3, "window": 900}
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    for _ in range(3):
        with pytest.raises(Invalid):
            reauthenticate(user=person, password=PASSWORD, code="000000", purpose="test")
    with pytest.raises(Throttled) as caught:
        reauthenticate(
            user=person, password=PASSWORD, code=code_for(device, otp_clock.value), purpose="t"
        )
    assert caught.value.fields == {"code": "too_many_attempts"}
