"""Two-factor sign-in's rules: set-up confirmed by a code, replayed codes refused, recovery
codes single-use and stored as digests, turning it off needs password and code, wrong codes
limited, and the firm's rule."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import Forbidden, Invalid, Throttled
from accounts.services import two_factor
from accounts.services.firm import firm_get
from tests import factories
from tests.factories import PASSWORD
from tests.factories import totp_code as code_for

pytestmark = pytest.mark.django_db


def enrolled(person, otp_clock=None) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.enrolment_device(user=person)
    at = otp_clock.value if otp_clock is not None else None
    codes = two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device, at), keep_session_key=None
    )
    return TOTPDevice.objects.get(user=person), codes


def test_enrolment_needs_a_right_code_before_it_is_on(otp_clock):
    person = factories.user()
    device = two_factor.enrolment_device(user=person)
    assert device.pk is None  # showing the secret writes nothing
    # The same key shows the same secret; no key or a bad one, a new one.
    assert two_factor.enrolment_device(user=person, key=device.key).key == device.key
    assert two_factor.enrolment_device(user=person, key="zz").key != device.key
    with pytest.raises(Invalid) as caught:
        two_factor.enrolment_confirm(
            user=person, key=device.key, code="000000", keep_session_key=None
        )
    assert caught.value.fields == {"code": "wrong"}
    assert not two_factor.enabled(person)
    assert not TOTPDevice.objects.filter(user=person).exists()
    with pytest.raises(Invalid) as bad_key:
        two_factor.enrolment_confirm(user=person, key=None, code="000000", keep_session_key=None)
    assert bad_key.value.code == "not_started"
    codes = two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    assert two_factor.enabled(person)
    assert len(codes) == 10 and len(set(codes)) == 10
    with pytest.raises(Invalid) as again:
        two_factor.enrolment_device(user=person)
    assert again.value.code == "already_enabled"


def test_the_secret_text_is_the_devices_key_in_base32(otp_clock):
    import base64

    device = two_factor.enrolment_device(user=factories.user())
    text = two_factor.secret_text(device).replace(" ", "")
    assert base64.b32decode(text + "=" * (-len(text) % 8)) == device.bin_key
    assert "secret=" + text in device.config_url
    assert "issuer=" in device.config_url


def test_confirming_ends_the_other_sessions():
    person = factories.user()
    kept = factories.session_cookie(person).split("=", 1)[1]
    other = factories.session_cookie(person).split("=", 1)[1]
    device = two_factor.enrolment_device(user=person)
    two_factor.enrolment_confirm(
        user=person, key=device.key, code=code_for(device), keep_session_key=kept
    )
    assert Session.objects.filter(session_key=kept).exists()
    assert not Session.objects.filter(session_key=other).exists()


def test_a_code_is_accepted_once_and_a_replay_refused(otp_clock):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    otp_clock.value += 30
    code = code_for(device, otp_clock.value)
    assert two_factor.code_verify(user=person, code=code) is two_factor.CodeKind.APP
    with pytest.raises(Invalid) as caught:
        two_factor.code_verify(user=person, code=code)
    assert caught.value.fields == {"code": "wrong"}
    # An older code (the step before) is refused too; the next step's is accepted.
    with pytest.raises(Invalid):
        two_factor.code_verify(user=person, code=code_for(device, otp_clock.value - 30))
    otp_clock.value += 30
    assert two_factor.code_verify(user=person, code=code_for(device, otp_clock.value))


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(otp_clock):
    person = factories.user()
    device = two_factor.enrolment_device(user=person)
    code = code_for(device, otp_clock.value)
    two_factor.enrolment_confirm(user=person, key=device.key, code=code, keep_session_key=None)
    with pytest.raises(Invalid):
        two_factor.code_verify(user=person, code=code)


def test_recovery_codes_are_single_use_and_stored_as_digests(otp_clock):
    person = factories.user()
    _, codes = enrolled(person, otp_clock)
    stored = set(StaticToken.objects.filter(device__user=person).values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)
    # Spaces, dashes and capitals do not matter.
    assert two_factor.code_verify(user=person, code=codes[0].upper().replace("-", " "))
    with pytest.raises(Invalid):
        two_factor.code_verify(user=person, code=codes[0])
    assert two_factor.recovery_codes_left(person) == 9
    # Someone else's code is not one's own.
    other = factories.user()
    _, others = enrolled(other, otp_clock)
    with pytest.raises(Invalid):
        two_factor.code_verify(user=person, code=others[0])


def test_new_recovery_codes_replace_the_old_ones(otp_clock):
    person = factories.user()
    device, old = enrolled(person, otp_clock)
    otp_clock.value += 30
    new = two_factor.recovery_codes_renew(user=person, code=code_for(device, otp_clock.value))
    assert len(new) == 10
    with pytest.raises(Invalid):
        two_factor.code_verify(user=person, code=old[1])
    assert two_factor.code_verify(user=person, code=new[1])


def test_wrong_codes_are_limited(otp_clock, settings):
    settings.ATRIUM_TWO_FACTOR_LIMIT = {"limit": 3, "window": 900}
    person = factories.user()
    device, codes = enrolled(person, otp_clock)
    for _ in range(3):
        with pytest.raises(Invalid):
            two_factor.code_verify(user=person, code="123456")
    otp_clock.value += 30
    with pytest.raises(Throttled):
        two_factor.code_verify(user=person, code=code_for(device, otp_clock.value))
    with pytest.raises(Throttled):
        two_factor.code_verify(user=person, code=codes[0])
    assert two_factor.recovery_codes_left(person) == 10


@pytest.mark.parametrize(
    ("password", "code", "fields"),
    [
        ("wrong", "right", {"current_password": "wrong"}),
        (PASSWORD, "000000", {"code": "wrong"}),
        ("", "right", {"current_password": "required"}),
    ],
)
def test_turning_off_needs_the_password_and_a_code(otp_clock, password, code, fields):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    otp_clock.value += 30
    if code == "right":
        code = code_for(device, otp_clock.value)
    with pytest.raises(Invalid) as caught:
        two_factor.two_factor_disable(user=person, password=password, code=code)
    assert caught.value.fields == fields
    assert two_factor.enabled(person)


def test_turning_off_removes_every_device(otp_clock):
    person = factories.user()
    device, _ = enrolled(person, otp_clock)
    otp_clock.value += 30
    two_factor.two_factor_disable(
        user=person, password=PASSWORD, code=code_for(device, otp_clock.value)
    )
    assert not two_factor.enabled(person)
    assert not StaticToken.objects.filter(device__user=person).exists()


def test_someone_the_firm_requires_it_of_cannot_turn_it_off(otp_clock, settings):
    settings.ATRIUM_REQUIRE_TWO_FACTOR = True
    person = factories.staff()
    device, _ = enrolled(person, otp_clock)
    otp_clock.value += 30
    with pytest.raises(Forbidden) as caught:
        two_factor.two_factor_disable(
            user=person, password=PASSWORD, code=code_for(device, otp_clock.value)
        )
    assert caught.value.code == "two_factor_required"
    assert two_factor.enabled(person)


@pytest.mark.parametrize(
    ("setting", "firm_value", "expected"),
    [(False, None, False), (True, None, True), (True, False, False), (False, True, True)],
)
def test_the_firms_rule_falls_back_to_the_setting(settings, setting, firm_value, expected):
    settings.ATRIUM_REQUIRE_TWO_FACTOR = setting
    firm = firm_get()
    firm.require_two_factor = firm_value
    firm.save()
    staff, admin, client = factories.staff(), factories.firm_admin(), factories.user()
    assert two_factor.required_for(staff) is expected
    assert two_factor.required_for(admin) is expected
    assert two_factor.required_for(client) is False


def test_only_firm_admins_set_the_rule(people):
    for role in ("staff_on_team", "client_admin", "client_member"):
        with pytest.raises(Forbidden):
            two_factor.firm_two_factor_set(actor=people[role], required=True)
    assert firm_get().require_two_factor is None
    assert not two_factor.required_for(people["staff_on_team"])
    two_factor.firm_two_factor_set(actor=people["firm_admin"], required=True)
    assert firm_get().require_two_factor is True
    assert two_factor.required_for(people["staff_on_team"])


def test_the_operator_can_remove_a_lost_phone(otp_clock):
    from io import StringIO

    from django.core.management import CommandError, call_command

    person = factories.user(email="lost@example.test")
    enrolled(person, otp_clock)
    other = factories.session_cookie(person).split("=", 1)[1]
    out = StringIO()
    call_command("reset_two_factor", "--email", "LOST@example.test", stdout=out)
    assert "removed; 1 session(s) ended" in out.getvalue()
    assert not two_factor.enabled(person)
    assert not StaticToken.objects.filter(device__user=person).exists()
    assert not Session.objects.filter(session_key=other).exists()
    with pytest.raises(CommandError):
        call_command("reset_two_factor", "--email", "lost@example.test")
    with pytest.raises(CommandError):
        call_command("reset_two_factor", "--email", "nobody@example.test")


def test_a_firm_admin_resets_a_lost_phone_and_nobody_else(otp_clock, people):
    person = people["client_member"]
    enrolled(person, otp_clock)
    other = factories.session_cookie(person).split("=", 1)[1]
    for role in ("staff_on_team", "client_admin", "client_member"):
        with pytest.raises(Forbidden):
            two_factor.two_factor_reset_by(actor=people[role], user=person)
    assert two_factor.enabled(person)
    assert two_factor.two_factor_reset_by(actor=people["firm_admin"], user=person) == 1
    assert not two_factor.enabled(person)
    assert not StaticToken.objects.filter(device__user=person).exists()
    assert not Session.objects.filter(session_key=other).exists()
    with pytest.raises(Invalid) as raised:
        two_factor.two_factor_reset_by(actor=people["firm_admin"], user=person)
    assert raised.value.fields == {"user": "not_enabled"}
