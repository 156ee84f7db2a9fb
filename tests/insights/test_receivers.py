"""Every way of signing in records one sign-in, when it happens; the steps before it (a
password waiting for its code, a reset link) record none."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import invitations as invitation_services
from accounts.services import two_factor
from insights.models import LoginEvent
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("frontend:login")
LOGIN_CODE = reverse("frontend:login_code")
RESET_LINK = re.compile(r"(/password/reset/[^/\s]+/[^/\s]+/)")


def events(person) -> list[LoginEvent]:
    return list(LoginEvent.objects.filter(user=person))


def test_the_password_form_records_a_client_sign_in(client, acme):
    person = factories.client(acme)
    response = client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    assert response.status_code == 302
    (event,) = events(person)
    assert event.firm_staff is False
    assert event.public_id.startswith("lgn_")


def test_a_staff_sign_in_is_marked_as_the_firms(client, db):
    person = factories.staff()
    client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    (event,) = events(person)
    assert event.firm_staff is True


def test_a_wrong_password_records_nothing(client, acme):
    person = factories.client(acme)
    client.post(LOGIN, {"username": person.email, "password": "not-it-at-all"})
    assert events(person) == []


def test_with_two_factor_only_the_code_step_records_the_sign_in(client, acme, otp_clock):
    person = factories.client(acme)
    key = two_factor.enrolment_device(user=person).key
    device = TOTPDevice(key=key)
    two_factor.enrolment_confirm(
        user=person,
        key=key,
        code=factories.totp_code(device, otp_clock.value),
        keep_session_key=None,
    )
    response = client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    assert response["Location"] == LOGIN_CODE
    assert events(person) == []
    otp_clock.value += 30
    stored = TOTPDevice.objects.get(user=person)
    response = client.post(LOGIN_CODE, {"code": factories.totp_code(stored, otp_clock.value)})
    assert response.status_code == 302
    assert len(events(person)) == 1


def test_accepting_an_invitation_as_a_new_person_records_the_sign_in(client, people, acme):
    issued = invitation_services.invitation_create(
        actor=people["staff_on_team"], account=acme, email="nina@example.test"
    )
    response = client.post(
        reverse("frontend:invitation", args=[issued.token]),
        {
            "name": "Nina New",
            "password1": "a-long-new-passphrase-9",
            "password2": "a-long-new-passphrase-9",
        },
    )
    assert response.status_code == 302
    nina = acme.memberships.get(user__email="nina@example.test").user
    assert len(events(nina)) == 1


def test_a_password_reset_does_not_sign_in_so_records_nothing(client, db, mailoutbox):
    person = factories.user(email="pat@example.test")
    client.post(reverse("frontend:password_reset"), {"email": "pat@example.test"})
    path = RESET_LINK.search(mailoutbox[0].body).group(1)
    opened = client.get(path)
    new = "a-brand-new-passphrase-7"
    response = client.post(opened["Location"], {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(new)
    assert events(person) == []
    client.post(LOGIN, {"username": person.email, "password": new})
    assert len(events(person)) == 1


def test_last_login_is_not_where_sign_ins_come_from(client, acme):
    person = factories.client(acme)
    client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    client.post(reverse("frontend:logout"))
    client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    assert len(events(person)) == 2
