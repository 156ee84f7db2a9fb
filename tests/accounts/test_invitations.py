"""Invitations into a client account, from the account page to the new person's first page."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from accounts.errors import Invalid
from accounts.models import ClientRole, Invitation, Membership, User
from accounts.services import invitations as invitation_services
from accounts.services import people as people_services
from accounts.services.firm import firm_get
from tests import factories

NEW_PASSWORD = "a-long-unusual-passphrase-42"
LINK = re.compile(r"https?://[^\s\"'<>]+/invite/([^/\s\"'<>]+)/")


@pytest.fixture
def firm(db):
    firm = firm_get()
    firm.name = "Northwind Partners"
    firm.primary_colour = "#123abc"
    firm.accent_colour = "#fedcba"
    firm.save()
    return firm


@pytest.fixture
def invite(client, django_capture_on_commit_callbacks):
    """POST the account page's invite form as ``actor``; mail goes out on commit."""

    def post(actor, account, email, *, role=ClientRole.MEMBER, name="", follow=False):
        client.force_login(actor)
        data = {"email": email, "name": name}
        if role is not None:
            data["role"] = role
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("frontend:account_invite", args=[account.public_id]), data, follow=follow
            )

    return post


def token_from(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def link(token: str) -> str:
    return reverse("frontend:invitation", args=[token])


def accept_data(name="Nina New", password=NEW_PASSWORD, repeat=None):
    return {
        "name": name,
        "password1": password,
        "password2": password if repeat is None else repeat,
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def pending(account, email):
    return Invitation.objects.get(account=account, email=email, accepted_at=None, revoked_at=None)


# --- the whole way through -------------------------------------------------------------------


def test_invitation_end_to_end(client, invite, firm, people, acme, mailoutbox, settings):
    staff = people["staff_on_team"]
    response = invite(staff, acme, "Nina@Example.test", role=ClientRole.ADMIN, name="Nina")
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:account", args=[acme.public_id])
    page = client.get(response["Location"])
    assert "Invitation sent to nina@example.test." in messages_of(page)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["nina@example.test"]
    assert acme.name in mail.subject
    assert "Northwind Partners" in mail.from_email
    token = token_from(mail)
    url = settings.ATRIUM_BASE_URL.rstrip("/") + link(token)
    assert url in mail.body
    (html, mimetype), *_ = mail.alternatives
    assert mimetype == "text/html"
    assert "Northwind Partners" in html
    assert "#123abc" in html
    assert url in html

    invitation = Invitation.objects.get(account=acme)
    assert invitation.email == "nina@example.test"
    assert invitation.role == ClientRole.ADMIN
    assert invitation.state == "pending"
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert all(token not in str(value) for value in stored.values())

    client.logout()
    form_page = client.get(link(token))
    assert form_page.status_code == 200
    assert "frontend/invitation_accept.html" in [t.name for t in form_page.templates]
    assert "Join Acme" in form_page.content.decode()

    response = client.post(link(token), accept_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:home")

    user = User.objects.get(email="nina@example.test")
    assert user.name == "Nina New"
    assert user.firm_role == ""
    assert user.password.startswith("argon2")
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.account, membership.role) == (acme, ClientRole.ADMIN)
    assert int(client.session[SESSION_KEY]) == user.pk
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert invitation.accepted_by == user

    home = client.get(reverse("frontend:home"))
    assert home.status_code == 200
    assert acme.name in home.content.decode()


def test_expiry_follows_the_configured_ttl(invite, people, acme, settings):
    settings.ATRIUM_INVITATION_TTL = timedelta(days=2)
    invite(people["staff_on_team"], acme, "ttl@example.test")
    invitation = pending(acme, "ttl@example.test")
    assert invitation.expires_at - invitation.created_at == timedelta(days=2)


# --- links that no longer work ---------------------------------------------------------------


def test_a_used_link_is_gone(client, invite, people, acme, mailoutbox):
    invite(people["staff_on_team"], acme, "once@example.test")
    token = token_from(mailoutbox[0])
    client.logout()
    assert client.post(link(token), accept_data()).status_code == 302
    client.logout()

    again = client.get(link(token))
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    reposted = client.post(link(token), accept_data(name="Someone Else"))
    assert reposted.status_code == 410
    assert User.objects.get(email="once@example.test").name == "Nina New"


def test_an_expired_link_is_gone(client, invite, people, acme, mailoutbox):
    invite(people["staff_on_team"], acme, "late@example.test")
    token = token_from(mailoutbox[0])
    Invitation.objects.filter(email="late@example.test").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client.logout()

    page = client.get(link(token))
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert client.post(link(token), accept_data()).status_code == 410
    assert not User.objects.filter(email="late@example.test").exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[:20],
        lambda t: "x" * 43,
        lambda t: t + "x" * 200,
    ],
    ids=["last-char", "truncated", "made-up", "overlong"],
)
def test_a_tampered_or_unknown_link_is_not_found(client, invite, people, acme, mailoutbox, tamper):
    invite(people["staff_on_team"], acme, "tamper@example.test")
    token = token_from(mailoutbox[0])
    client.logout()

    page = client.get(link(tamper(token)))
    assert page.status_code == 404
    assert "This link is not valid" in page.content.decode()
    assert client.post(link(tamper(token)), accept_data()).status_code == 404
    assert not User.objects.filter(email="tamper@example.test").exists()
    assert pending(acme, "tamper@example.test")


def test_a_revoked_link_is_gone(client, invite, people, acme, mailoutbox):
    staff = people["staff_on_team"]
    invite(staff, acme, "withdrawn@example.test")
    token = token_from(mailoutbox[0])
    invitation = pending(acme, "withdrawn@example.test")
    response = client.post(reverse("frontend:invitation_revoke", args=[invitation.public_id]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    client.logout()

    page = client.get(link(token))
    assert page.status_code == 410
    assert "withdrawn" in page.content.decode()
    assert client.post(link(token), accept_data()).status_code == 410
    assert not User.objects.filter(email="withdrawn@example.test").exists()


def test_only_people_who_may_invite_can_revoke(client, invite, people, acme):
    invite(people["staff_on_team"], acme, "keep@example.test")
    invitation = pending(acme, "keep@example.test")
    for role in ("client_member", "staff_off_team", "other_client"):
        client.force_login(people[role])
        url = reverse("frontend:invitation_revoke", args=[invitation.public_id])
        assert client.post(url).status_code == 404, role
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_inviting_again_replaces_the_pending_invitation(client, invite, people, acme, mailoutbox):
    staff = people["staff_on_team"]
    invite(staff, acme, "twice@example.test")
    invite(staff, acme, "TWICE@example.test", role=ClientRole.ADMIN)
    assert len(mailoutbox) == 2
    first, second = (token_from(m) for m in mailoutbox)
    assert first != second

    invitations = Invitation.objects.filter(email="twice@example.test")
    assert invitations.count() == 2
    assert sorted(i.state for i in invitations) == ["pending", "revoked"]
    assert pending(acme, "twice@example.test").role == ClientRole.ADMIN

    client.logout()
    assert client.get(link(first)).status_code == 410
    assert client.get(link(second)).status_code == 200


# --- accepting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (accept_data(password="password"), "too common"),
        (accept_data(password="short1"), "too short"),
        (accept_data(password="12345678901234"), "entirely numeric"),
        (accept_data(repeat="something-else-entirely"), "The two passwords differ."),
        (accept_data(name=""), "This field is required."),
    ],
    ids=["common", "short", "numeric", "mismatch", "no-name"],
)
def test_a_refused_password_or_name_keeps_the_invitation(
    client, invite, people, acme, mailoutbox, data, error
):
    invite(people["staff_on_team"], acme, "weak@example.test")
    token = token_from(mailoutbox[0])
    client.logout()

    response = client.post(link(token), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not User.objects.filter(email="weak@example.test").exists()
    assert pending(acme, "weak@example.test")
    assert SESSION_KEY not in client.session


def test_a_password_like_the_address_is_refused(client, invite, people, acme, mailoutbox):
    invite(people["staff_on_team"], acme, "florence.nightingale@example.test")
    token = token_from(mailoutbox[0])
    client.logout()
    response = client.post(link(token), accept_data(password="florence.nightingale"))
    assert response.status_code == 400
    assert "too similar" in response.content.decode()
    assert not User.objects.filter(email="florence.nightingale@example.test").exists()


def test_acceptance_is_atomic(client, invite, people, acme, mailoutbox, monkeypatch):
    invite(people["staff_on_team"], acme, "atomic@example.test")
    token = token_from(mailoutbox[0])
    client.logout()

    def refuse(**kwargs):
        raise Invalid("The membership could not be recorded.")

    monkeypatch.setattr(invitation_services, "membership_add", refuse)
    response = client.post(link(token), accept_data())
    assert response.status_code == 400
    assert "The membership could not be recorded." in response.content.decode()
    assert not User.objects.filter(email="atomic@example.test").exists()
    assert pending(acme, "atomic@example.test")
    assert SESSION_KEY not in client.session


def test_acceptance_is_atomic_whatever_fails(invite, people, acme, mailoutbox, monkeypatch):
    invite(people["staff_on_team"], acme, "atomic2@example.test")
    token = token_from(mailoutbox[0])

    def explode(**kwargs):
        raise IntegrityError("membership")

    monkeypatch.setattr(invitation_services, "membership_add", explode)
    with pytest.raises(IntegrityError):
        invitation_services.invitation_accept_new_user(
            token=token, name="Ann Atomic", password=NEW_PASSWORD
        )
    assert not User.objects.filter(email="atomic2@example.test").exists()
    assert not Membership.objects.filter(user__email="atomic2@example.test").exists()
    assert pending(acme, "atomic2@example.test")


def test_an_existing_user_signs_in_as_the_address_to_accept(
    client, invite, people, acme, globex, mailoutbox
):
    existing = factories.client(globex, email="both@example.test", name="Bo Both")
    invite(people["staff_on_team"], acme, "both@example.test")
    token = token_from(mailoutbox[0])
    client.logout()

    page = client.get(link(token))
    assert page.status_code == 200
    assert "frontend/invitation_existing.html" in [t.name for t in page.templates]
    assert "Sign in to accept" in page.content.decode()

    # Choosing a password for an address that already has an account does nothing.
    response = client.post(link(token), accept_data(name="Impostor"))
    assert response.status_code == 200
    assert not Membership.objects.filter(account=acme, user=existing).exists()
    assert SESSION_KEY not in client.session
    existing.refresh_from_db()
    assert existing.name == "Bo Both"
    assert existing.check_password(factories.PASSWORD)

    client.force_login(existing)
    response = client.post(link(token))
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:account", args=[acme.public_id])
    membership = Membership.objects.get(account=acme, user=existing)
    assert membership.role == ClientRole.MEMBER
    assert Invitation.objects.get(email="both@example.test").accepted_by == existing
    assert Membership.objects.filter(account=globex, user=existing).exists()


def test_another_signed_in_user_cannot_accept(client, invite, people, acme, globex, mailoutbox):
    invitee = factories.client(globex, email="invitee@example.test")
    invite(people["staff_on_team"], acme, "invitee@example.test")
    token = token_from(mailoutbox[0])

    intruder = people["other_client"]
    client.force_login(intruder)
    page = client.get(link(token))
    assert page.status_code == 200
    assert "but you are signed in as" in page.content.decode()

    response = client.post(link(token), follow=True)
    assert response.redirect_chain[0] == (link(token), 302)
    assert "This invitation was sent to another address." in messages_of(response)
    assert not Membership.objects.filter(account=acme, user__in=[intruder, invitee]).exists()
    assert pending(acme, "invitee@example.test")


# --- who may invite whom -----------------------------------------------------------------


def _answer(response, address: str) -> tuple:
    """What the inviter learns from inviting ``address``: the status, the page they land on
    and its messages, with the address itself taken out."""
    page = response.content.decode()
    return (
        response.status_code,
        tuple(response.redirect_chain),
        tuple(m.replace(address.lower(), "ADDRESS") for m in messages_of(response)),
        page.count('class="invitations"'),
        page.count("Withdraw"),
    )


def test_every_address_gets_the_same_answer(
    client, invite, people, acme, globex, mailoutbox, caplog
):
    """A client admin cannot tell firm staff (or another account's clients) from anyone
    else by inviting them: same answer, same pending invitation; only staff get no mail."""
    inviter = people["client_admin"]
    addresses = {
        "unknown": "nobody-yet@example.test",
        "staff_off_team": people["staff_off_team"].email.upper(),
        "staff_on_team": people["staff_on_team"].email,
        "firm_admin": people["firm_admin"].email,
        "other_client": people["other_client"].email,
    }
    answers = {}
    for kind, address in addresses.items():
        # Each from a clean slate, so that the page shows one pending invitation each time.
        Invitation.objects.all().delete()
        mailoutbox.clear()
        caplog.clear()
        response = invite(inviter, acme, address, role=None, follow=True)
        answers[kind] = _answer(response, address)
        assert pending(acme, address.lower()).invited_by == inviter
        staff = kind in {"staff_off_team", "staff_on_team", "firm_admin"}
        assert [m.to for m in mailoutbox] == ([] if staff else [[address.lower()]]), kind
        if staff:
            assert "not sent" in caplog.text and "firm staff" in caplog.text
    assert len(set(answers.values())) == 1, answers
    assert answers["unknown"][2] == ("Invitation sent to ADDRESS.",)
    # Nobody on the firm side was made a client member.
    assert not Membership.objects.filter(account=acme, user__firm_role__in=["admin", "staff"])


def test_an_existing_member_cannot_be_invited_again(client, invite, people, acme, mailoutbox):
    member = people["client_member"]
    response = invite(people["staff_on_team"], acme, member.email.upper(), follow=True)
    assert "That person is already in this account." in messages_of(response)
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_a_client_member_cannot_invite(client, invite, people, acme, mailoutbox):
    response = invite(people["client_member"], acme, "friend@example.test", follow=True)
    assert response.status_code == 200
    assert "You may not invite people to this account." in messages_of(response)
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_a_client_admin_invites_members_from_the_account_page(
    client, invite, people, acme, mailoutbox
):
    admin = people["client_admin"]
    client.force_login(admin)
    page = client.get(reverse("frontend:account", args=[acme.public_id]))
    assert 'name="email"' in page.content.decode()
    assert 'name="role"' not in page.content.decode()

    # The form client admins see has no role field: they invite members.
    response = invite(admin, acme, "colleague@example.test", role=None, follow=True)
    assert "Invitation sent to colleague@example.test." in messages_of(response)
    assert pending(acme, "colleague@example.test").role == ClientRole.MEMBER
    assert pending(acme, "colleague@example.test").invited_by == admin
    assert len(mailoutbox) == 1

    response = invite(admin, acme, "colleague2@example.test", role=ClientRole.MEMBER)
    assert pending(acme, "colleague2@example.test").role == ClientRole.MEMBER


def test_a_client_admin_cannot_invite_admins(client, invite, people, acme, mailoutbox):
    response = invite(people["client_admin"], acme, "boss@example.test", role="admin", follow=True)
    assert "Only the firm can invite client admins." in messages_of(response)
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_a_bad_role_or_address_is_refused(client, invite, people, acme, mailoutbox):
    staff = people["staff_on_team"]
    response = invite(staff, acme, "x@example.test", role="owner", follow=True)
    assert response.status_code == 200
    response = invite(staff, acme, "not-an-address", follow=True)
    assert "Enter a valid e-mail address to invite." in messages_of(response)
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_staff_off_the_team_cannot_invite(client, invite, people, acme, mailoutbox):
    response = invite(people["staff_off_team"], acme, "x@example.test")
    assert response.status_code == 404
    response = invite(people["other_client"], acme, "x@example.test")
    assert response.status_code == 404
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_the_firm_admin_may_invite_anywhere(invite, people, acme, globex, mailoutbox):
    admin = people["firm_admin"]
    assert invite(admin, acme, "a@example.test", role="admin").status_code == 302
    assert invite(admin, globex, "g@example.test").status_code == 302
    assert pending(acme, "a@example.test").role == ClientRole.ADMIN
    assert pending(globex, "g@example.test").role == ClientRole.MEMBER
    assert len(mailoutbox) == 2


def test_inviting_needs_a_signed_in_post(client, people, acme):
    url = reverse("frontend:account_invite", args=[acme.public_id])
    response = client.post(url, {"email": "x@example.test", "role": "member"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))
    client.force_login(people["staff_on_team"])
    assert client.get(url).status_code == 405
    assert not Invitation.objects.exists()


def test_a_name_is_kept_on_one_line(client, invite, people, acme, mailoutbox):
    invite(people["staff_on_team"], acme, "eve@example.test", role=ClientRole.ADMIN)
    token = token_from(mailoutbox[0])
    client.logout()
    response = client.post(link(token), accept_data(name="Eve\r\nBcc: victim@example.test"))
    assert response.status_code == 302
    eve = User.objects.get(email="eve@example.test")
    assert eve.name == "Eve Bcc: victim@example.test"

    # Her name goes into the subject of the invitations she sends.
    response = invite(eve, acme, "friend@example.test")
    assert response.status_code == 302
    assert len(mailoutbox) == 2
    message = mailoutbox[1].message()
    assert message["Subject"] == "Eve Bcc: victim@example.test invited you to Acme"
    assert message["Bcc"] is None
    assert mailoutbox[1].recipients() == ["friend@example.test"]


def test_an_inviter_name_with_a_newline_does_not_break_the_mail(
    client, invite, people, acme, mailoutbox
):
    staff = people["staff_on_team"]
    User.objects.filter(pk=staff.pk).update(name="Sam\nStaff")
    staff.refresh_from_db()
    response = invite(staff, acme, "friend@example.test")
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].message()["Subject"] == "Sam Staff invited you to Acme"


def test_a_mail_outage_keeps_the_invitation_and_logs(invite, acme, monkeypatch, caplog):
    staff = factories.staff(accounts=(acme,))

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    response = invite(staff, acme, "late@acme.test")
    assert response.status_code == 302
    assert pending(acme, "late@acme.test")
    assert any("sending invitation" in r.getMessage() for r in caplog.records)


def test_a_client_switched_off_with_their_last_account_comes_back_when_invited_again(
    client, invite, people, acme, mailoutbox
):
    member = people["client_member"]
    people_services.client_person_remove(actor=people["firm_admin"], account=acme, user=member)
    member.refresh_from_db()
    assert not member.is_active
    invite(people["staff_on_team"], acme, member.email)
    token = token_from(mailoutbox[-1])
    client.logout()
    page = client.get(link(token))
    # A form to choose a new password, not "sign in first": their old password is dead.
    assert page.status_code == 200 and 'name="password1"' in page.content.decode()
    response = client.post(link(token), accept_data(name="Morgan Member"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active and member.check_password(NEW_PASSWORD)
    assert not member.check_password(factories.PASSWORD)
    assert Membership.objects.filter(account=acme, user=member).exists()


def test_switched_off_firm_staff_do_not_come_back_through_a_client_invitation(
    client, invite, people, acme, mailoutbox
):
    sam = people["staff_off_team"]
    people_services.person_deactivate(actor=people["firm_admin"], user=sam)
    invite(people["staff_on_team"], acme, sam.email)
    invitation = Invitation.objects.get(email=sam.email)
    assert invitation.state == "pending"
    assert not mailoutbox  # firm staff are never mailed a client invitation
    assert invitation_services.returning_client(sam.email) is None
