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


# --- throttling ------------------------------------------------------------------------------


PER_RESPONSE = re.compile(r'(nonce|value)="[^"]*"')


def answer(response) -> tuple:
    """What the person asking learns: the status, where they are sent, and that page (less
    what differs on every response anyway)."""
    return (
        response.status_code,
        tuple(response.redirect_chain),
        PER_RESPONSE.sub("", response.content.decode()),
    )


def test_one_address_gets_a_bounded_number_of_mails(client, person, mailoutbox, caplog):
    limit = settings.ATRIUM_PASSWORD_RESET_LIMITS["address"]["limit"]
    answers = set()
    # From several client addresses, so that only the per-address limit is in play.
    for attempt in range(16):
        response = client.post(
            RESET,
            {"email": "pat@example.test"},
            follow=True,
            REMOTE_ADDR=f"198.51.100.{attempt}",
        )
        answers.add((response.status_code, tuple(response.redirect_chain)))
        if attempt == limit - 1:
            assert len(mailoutbox) == limit
            caplog.clear()
    assert 0 < limit < 16
    assert len(mailoutbox) == limit
    assert answers == {(200, ((DONE, 302),))}
    assert "password reset refused: too many requests for one address" in caplog.text
    # The first links still work: the limit only stops new mail.
    assert choose(client, reset_path(mailoutbox[0])).status_code == 302


def test_the_sixteenth_request_sends_nothing_and_looks_the_same(client, person, mailoutbox):
    """The case reported: fifteen requests sent fifteen mails."""
    first = client.post(RESET, {"email": "pat@example.test"}, follow=True)
    for _ in range(14):
        client.post(RESET, {"email": "pat@example.test"})
    sent = len(mailoutbox)
    assert sent < 15
    sixteenth = client.post(RESET, {"email": "pat@example.test"}, follow=True)
    assert len(mailoutbox) == sent
    assert sixteenth.redirect_chain == first.redirect_chain == [(DONE, 302)]
    assert sixteenth.status_code == first.status_code == 200
    assert "Check your e-mail" in sixteenth.content.decode()


def test_one_client_address_gets_a_bounded_number_of_mails(client, person, mailoutbox, caplog):
    limit = settings.ATRIUM_PASSWORD_RESET_LIMITS["ip"]["limit"]
    for number in range(limit):
        response = client.post(RESET, {"email": f"probe{number}@example.test"})
        assert response["Location"] == DONE
    assert mailoutbox == []
    caplog.clear()
    # Over the limit, even a real address gets nothing, and the same answer.
    response = client.post(RESET, {"email": "pat@example.test"})
    assert response.status_code == 302
    assert response["Location"] == DONE
    assert mailoutbox == []
    assert "password reset refused: too many requests from 127.0.0.1" in caplog.text
    # Another client address is not held back by this one.
    client.post(RESET, {"email": "pat@example.test"}, REMOTE_ADDR="203.0.113.7")
    assert [m.to for m in mailoutbox] == [["pat@example.test"]]


def test_the_limits_lift_when_the_window_ends(client, person, mailoutbox, settings, monkeypatch):
    settings.ATRIUM_PASSWORD_RESET_LIMITS = {
        "address": {"limit": 2, "window": 600},
        "ip": {"limit": 100, "window": 600},
    }
    now = [1_000_000_200.0]
    monkeypatch.setattr("accounts.throttles.time.time", lambda: now[0])
    for _ in range(4):
        client.post(RESET, {"email": "pat@example.test"})
    assert len(mailoutbox) == 2
    now[0] += 600
    client.post(RESET, {"email": "pat@example.test"})
    assert len(mailoutbox) == 3


def test_unknown_throttled_and_sent_answer_alike(client, person, mailoutbox, settings):
    settings.ATRIUM_PASSWORD_RESET_LIMITS = {
        "address": {"limit": 1, "window": 600},
        "ip": {"limit": 100, "window": 600},
    }
    sent = client.post(RESET, {"email": "pat@example.test"}, follow=True)
    throttled = client.post(RESET, {"email": "pat@example.test"}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.test"}, follow=True)
    assert len(mailoutbox) == 1
    assert answer(sent) == answer(throttled) == answer(unknown)


def test_someone_without_a_password_yet_can_ask_for_a_link(client, db, mailoutbox):
    """A person whose account was opened for them, or whose password was reset by an admin,
    has no usable password: asking for a link is how they choose one."""
    person = factories.user(email="new@example.test")
    person.set_unusable_password()
    person.save()
    client.post(RESET, {"email": "new@example.test"})
    assert len(mailoutbox) == 1
    assert choose(client, reset_path(mailoutbox[0])).status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
