"""Resetting a forgotten password by e-mail."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.services.firm import firm_get
from tests import factories

RESET = reverse("frontend:password_reset")
DONE = reverse("frontend:password_reset_done")
NEW_PASSWORD = "a-brand-new-passphrase-7"
LINK = re.compile(r"https?://[^\s\"'<>]+(/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def person(db):
    firm = firm_get()
    firm.name = "Northwind Partners"
    firm.primary_colour = "#0a7b83"
    firm.save()
    return factories.user(email="pat@example.test", name="Pat Person")


def reset_path(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    assert match.group(0).startswith(settings.ATRIUM_BASE_URL.rstrip("/"))
    return match.group(1)


def choose(client, path, password=NEW_PASSWORD, repeat=None):
    """Open the e-mailed link (which moves the token into the session) and set a password."""
    opened = client.get(path)
    assert opened.status_code == 302
    form_page = client.get(opened["Location"])
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    return client.post(
        opened["Location"],
        {"new_password1": password, "new_password2": password if repeat is None else repeat},
    )


def test_a_known_address_gets_one_branded_link_that_works_once(client, person, mailoutbox):
    response = client.post(RESET, {"email": "PAT@example.test"})
    assert response.status_code == 302
    assert response["Location"] == DONE

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["pat@example.test"]
    assert "Northwind Partners" in mail.from_email
    (html, mimetype), *_ = mail.alternatives
    assert mimetype == "text/html"
    assert "Northwind Partners" in html
    assert "#0a7b83" in html
    path = reset_path(mail)
    assert path in html

    response = choose(client, path)
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:password_reset_complete")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert not person.check_password(factories.PASSWORD)
    assert person.password.startswith("argon2")

    signed_in = client.post(
        reverse("frontend:login"), {"username": "pat@example.test", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302

    client.logout()
    again = client.get(path, follow=True)
    assert again.status_code == 200
    assert "This link no longer works" in again.content.decode()
    assert 'name="new_password1"' not in again.content.decode()


def test_an_unknown_address_sends_nothing_but_looks_the_same(client, person, mailoutbox):
    known = client.post(RESET, {"email": "pat@example.test"}, follow=True)
    mailoutbox.clear()
    unknown = client.post(RESET, {"email": "nobody@example.test"}, follow=True)
    assert mailoutbox == []
    assert unknown.redirect_chain == known.redirect_chain == [(DONE, 302)]
    assert unknown.status_code == known.status_code == 200
    assert "Check your e-mail" in unknown.content.decode()


def test_an_inactive_user_gets_no_link(client, db, mailoutbox):
    factories.user(email="gone@example.test", active=False)
    response = client.post(RESET, {"email": "gone@example.test"})
    assert response["Location"] == DONE
    assert mailoutbox == []


def mangled(path: str, *, uid=None, token=None) -> str:
    _, _, real_uid, real_token = path.strip("/").split("/")
    return reverse(
        "frontend:password_reset_confirm",
        kwargs={
            "uidb64": uid(real_uid) if uid else real_uid,
            "token": token(real_token) if token else real_token,
        },
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: mangled(p, uid=lambda u: u + "A"),
        lambda p: mangled(p, token=lambda t: t[:-3] + ("abc" if t[-3:] != "abc" else "abd")),
        lambda p: mangled(p, uid=lambda u: "MTIzNDU2Nzg"),
        lambda p: mangled(p, uid=lambda u: "zzz", token=lambda t: "bogus-token"),
    ],
    ids=["uid", "token", "unknown-user", "garbage"],
)
def test_an_invalid_link_no_longer_works(client, person, mailoutbox, mangle):
    client.post(RESET, {"email": "pat@example.test"})
    path = mangle(reset_path(mailoutbox[0]))
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()
    assert 'name="new_password1"' not in response.content.decode()
    person.refresh_from_db()
    assert person.check_password(factories.PASSWORD)


def test_a_weak_new_password_is_refused_and_the_link_still_works(client, person, mailoutbox):
    client.post(RESET, {"email": "pat@example.test"})
    path = reset_path(mailoutbox[0])
    response = choose(client, path, password="password")
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    person.refresh_from_db()
    assert person.check_password(factories.PASSWORD)

    response = choose(client, path)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)


def test_a_link_stops_working_once_the_password_changes_otherwise(client, person, mailoutbox):
    client.post(RESET, {"email": "pat@example.test"})
    path = reset_path(mailoutbox[0])
    person.set_password("changed-another-way-55")
    person.save()
    response = client.get(path, follow=True)
    assert "This link no longer works" in response.content.decode()
