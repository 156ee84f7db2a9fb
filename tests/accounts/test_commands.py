"""The management commands: the demo data and the first firm admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts import permissions
from accounts.models import (
    ClientAccount,
    ClientRole,
    Firm,
    FirmRole,
    Invitation,
    Matter,
    Membership,
    TeamAssignment,
    User,
)
from accounts.permissions import Action, Role
from accounts.services.client_accounts import team_unassign
from approvals.models import ApprovalRequest, Decision, Status
from approvals.selectors import awaiting
from evidence.models import Entry
from tests import factories

DEMO_PASSWORD = "atrium-demo"
PRIVILEGED = "Acquisition of Penetrode Inc."


def seed() -> dict[str, User]:
    call_command("seed_demo", stdout=_Sink())
    return {user.email: user for user in User.objects.all()}


@pytest.fixture
def seeded(db, settings):
    """The demo data, hashed quickly: these tests are about who sees what."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return seed()


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def visible_accounts(user) -> set[str]:
    return set(permissions.accounts_visible_to(user).values_list("slug", flat=True))


def visible_matters(user) -> set[str]:
    return set(permissions.matters_visible_to(user).values_list("title", flat=True))


def row_counts() -> dict[str, int]:
    models = [
        User,
        Firm,
        ClientAccount,
        Membership,
        TeamAssignment,
        Matter,
        Invitation,
        Group,
        UserObjectPermission,
        GroupObjectPermission,
        ApprovalRequest,
        Decision,
        Entry,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_creates_the_documented_identities(db):
    seeded = seed()
    for email in (
        "admin@atrium.test",
        "staff@atrium.test",
        "counsel@atrium.test",
        "client@acme.test",
        "member@acme.test",
        "client@globex.test",
        "gc@initech.test",
        "assistant@initech.test",
    ):
        user = seeded[email]
        assert user.is_active
        assert user.check_password(DEMO_PASSWORD), email
        assert user.password.startswith("argon2")

    assert seeded["admin@atrium.test"].firm_role == FirmRole.ADMIN
    assert seeded["staff@atrium.test"].firm_role == FirmRole.STAFF
    assert seeded["client@acme.test"].firm_role == FirmRole.NONE
    assert Firm.objects.get().name != "Atrium"

    admin = seeded["admin@atrium.test"]
    assert visible_accounts(admin) == set(ClientAccount.objects.values_list("slug", flat=True))
    assert len(visible_accounts(admin)) >= 3

    staff = seeded["staff@atrium.test"]
    acme = ClientAccount.objects.get(slug="acme")
    globex = ClientAccount.objects.get(slug="globex")
    assert TeamAssignment.objects.filter(account=acme, user=staff).exists()
    assert not TeamAssignment.objects.filter(account=globex, user=staff).exists()
    assert "acme" in visible_accounts(staff)
    assert "globex" not in visible_accounts(staff)
    assert permissions.can_on_account(staff, Action.INVITE, acme)
    assert not permissions.can_on_account(staff, Action.VIEW, globex)

    client_acme = seeded["client@acme.test"]
    assert visible_accounts(client_acme) == {"acme"}
    assert permissions.role_in_account(client_acme, acme) == Role.CLIENT_ADMIN
    assert visible_accounts(seeded["client@globex.test"]) == {"globex"}
    assert visible_accounts(seeded["member@acme.test"]) == {"acme"}
    assert Membership.objects.get(user__email="member@acme.test").role == ClientRole.MEMBER


def test_seed_demo_walls_off_the_privileged_matter(seeded):
    matter = Matter.objects.get(title=PRIVILEGED)
    assert matter.privileged
    assert matter.account.slug not in {"acme", "globex"}

    # Both sides of the wall reach the account itself ...
    for email in (
        "staff@atrium.test",
        "assistant@initech.test",
        "counsel@atrium.test",
        "gc@initech.test",
    ):
        assert permissions.can_on_account(seeded[email], Action.VIEW, matter.account), email
    # ... but only the granted people see the matter.
    for email in ("counsel@atrium.test", "gc@initech.test"):
        assert PRIVILEGED in visible_matters(seeded[email]), email
        assert permissions.can_on_item(seeded[email], Action.VIEW, matter)
    for email in (
        "staff@atrium.test",
        "assistant@initech.test",
        "client@acme.test",
        "client@globex.test",
    ):
        assert PRIVILEGED not in visible_matters(seeded[email]), email
        assert not permissions.can_on_item(seeded[email], Action.VIEW, matter)
    # The unprivileged matters of the same account are visible to its people.
    assistant_sees = visible_matters(seeded["assistant@initech.test"])
    assert "Annual compliance review" in assistant_sees


def test_the_demo_people_can_sign_in(client, seeded):
    response = client.post("/login/", {"username": "client@acme.test", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_seed_demo_is_idempotent(seeded):
    before = row_counts()
    call_command("seed_demo", stdout=_Sink())
    assert row_counts() == before
    assert User.objects.get(email="staff@atrium.test").check_password(DEMO_PASSWORD)


def test_seed_demo_repairs_what_is_missing(seeded):
    before = row_counts()
    staff = User.objects.get(email="staff@atrium.test")
    staff.set_password("changed-by-someone-123")
    staff.save()
    team_unassign(actor=None, account=ClientAccount.objects.get(slug="acme"), user=staff)
    call_command("seed_demo", stdout=_Sink())
    assert row_counts() == before
    staff.refresh_from_db()
    assert staff.check_password(DEMO_PASSWORD)
    assert "acme" in visible_accounts(staff)


def test_seed_demo_refuses_in_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never loaded in production"):
        call_command("seed_demo", stdout=_Sink())
    assert not User.objects.exists()
    assert not ClientAccount.objects.exists()


# --- create_firm_admin -----------------------------------------------------------------------


def test_create_firm_admin_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", "a-strong-admin-passphrase")
    out = _Sink()
    call_command("create_firm_admin", email="Boss@Firm.test", name="Bea Boss", stdout=out)
    admin = User.objects.get(email="boss@firm.test")
    assert admin.firm_role == FirmRole.ADMIN
    assert admin.is_firm_admin
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.name == "Bea Boss"
    assert admin.check_password("a-strong-admin-passphrase")
    assert admin.password.startswith("argon2")
    assert "Created firm admin boss@firm.test." in out.text


@pytest.mark.parametrize("password", ["short", "password123", "1234567890123", "boss@firm.test"])
def test_create_firm_admin_refuses_a_weak_password(db, monkeypatch, password):
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", password)
    with pytest.raises(CommandError):
        call_command("create_firm_admin", email="boss@firm.test", name="Bea Boss", stdout=_Sink())
    assert not User.objects.exists()


def test_create_firm_admin_refuses_a_weak_password_for_an_existing_user(db, monkeypatch):
    person = factories.user(email="boss@firm.test")
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError):
        call_command("create_firm_admin", email="boss@firm.test", name="Bea Boss", stdout=_Sink())
    person.refresh_from_db()
    assert person.firm_role == FirmRole.NONE
    assert person.check_password(factories.PASSWORD)


def test_create_firm_admin_promotes_an_existing_user(db, monkeypatch):
    person = factories.staff(email="boss@firm.test")
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", "a-strong-admin-passphrase")
    out = _Sink()
    call_command("create_firm_admin", email="BOSS@firm.test", name="Bea Boss", stdout=out)
    person.refresh_from_db()
    assert person.firm_role == FirmRole.ADMIN
    assert person.is_superuser
    assert person.check_password("a-strong-admin-passphrase")
    assert User.objects.count() == 1
    assert "Promoted firm admin boss@firm.test." in out.text


def test_create_firm_admin_refuses_a_bad_address(db, monkeypatch):
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", "a-strong-admin-passphrase")
    with pytest.raises(CommandError, match="valid e-mail"):
        call_command("create_firm_admin", email="not-an-address", name="Bea Boss", stdout=_Sink())
    assert not User.objects.exists()


def test_create_firm_admin_without_a_password_or_terminal_refuses(db, monkeypatch):
    monkeypatch.delenv("ATRIUM_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    with pytest.raises(CommandError, match="ATRIUM_ADMIN_PASSWORD"):
        call_command("create_firm_admin", email="boss@firm.test", name="Bea Boss", stdout=_Sink())
    assert not User.objects.exists()


def test_create_firm_admin_refuses_to_promote_a_client_user(acme, monkeypatch):
    person = factories.client(acme, email="buyer@acme.test")
    monkeypatch.setenv("ATRIUM_ADMIN_PASSWORD", "a-strong-admin-passphrase")
    with pytest.raises(CommandError, match="client user"):
        call_command("create_firm_admin", email="buyer@acme.test", name="B", stdout=_Sink())
    person.refresh_from_db()
    assert person.firm_role == FirmRole.NONE


def test_seed_demo_threads_follow_the_privileged_wall(seeded):
    from messaging.models import Message, Thread
    from messaging.selectors import thread_summaries

    def titles(email):
        return {(t["account"]["name"], t["title"]) for t in thread_summaries(seeded[email])}

    wall = ("Initech Holdings", "Penetrode: counsel only")
    assert wall in titles("counsel@atrium.test")
    assert wall in titles("gc@initech.test")
    assert wall not in titles("staff@atrium.test")
    assert wall not in titles("assistant@initech.test")
    assert wall not in titles("admin@atrium.test")
    assert ("Acme Corporation", "General") in titles("client@acme.test")
    assert not {name for name, _ in titles("client@acme.test")} - {"Acme Corporation"}
    messages = Message.objects.count()
    seed()
    assert Message.objects.count() == messages > 0
    assert Thread.objects.filter(title="General").count() == 3


def test_seed_demo_fills_the_vault_behind_the_wall(seeded):
    from vault import services as vault_services
    from vault.models import Document

    sheet = Document.objects.get(title="Penetrode term sheet (draft)")
    assert sheet.privileged and sheet.matter.title == PRIVILEGED
    guidelines = Document.objects.get(title="Brand guidelines, first draft")
    assert not guidelines.privileged and guidelines.folder.name == "Deliverables"
    for email in ("counsel@atrium.test", "gc@initech.test"):
        assert permissions.can_on_item(seeded[email], Action.VIEW, sheet), email
    for email in ("staff@atrium.test", "assistant@initech.test", "admin@atrium.test"):
        assert not permissions.can_on_item(seeded[email], Action.VIEW, sheet), email
    # The stored bytes come back for someone who may read them.
    download = vault_services.download_open(
        actor=seeded["client@acme.test"], version=guidelines.latest_version
    )
    assert b"".join(download).startswith(b"# Acme brand guidelines")


# --- passwords from the command line -----------------------------------------------------------


def test_changepassword_refuses_and_points_to_the_reset_link(db):
    person = factories.user(email="pat@example.test")
    with pytest.raises(CommandError, match="send_password_reset --email"):
        call_command("changepassword", "pat@example.test", stdout=_Sink())
    person.refresh_from_db()
    assert person.check_password(factories.PASSWORD)


def test_send_password_reset_mails_a_link(db, mailoutbox):
    person = factories.user(email="pat@example.test")
    out = _Sink()
    call_command("send_password_reset", email="PAT@example.test", stdout=out)
    assert [m.to for m in mailoutbox] == [["pat@example.test"]]
    assert "/password/reset/" in mailoutbox[0].body
    assert "Sent pat@example.test a link" in out.text
    person.refresh_from_db()
    assert person.check_password(factories.PASSWORD)  # unchanged until they choose


def test_send_password_reset_refuses_an_unknown_address(db, mailoutbox):
    with pytest.raises(CommandError, match="Nobody signs in"):
        call_command("send_password_reset", email="nobody@example.test", stdout=_Sink())
    assert mailoutbox == []


def test_send_password_reset_refuses_a_deactivated_person(db, mailoutbox):
    factories.user(email="gone@example.test", active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("send_password_reset", email="gone@example.test", stdout=_Sink())
    assert mailoutbox == []


def test_seed_demo_has_an_approval_waiting_for_the_acme_client(seeded):
    request = ApprovalRequest.objects.get(title="Brand guidelines sign-off")
    assert (request.account.slug, request.status) == ("acme", Status.OPEN)
    [decision] = Decision.objects.filter(request=request)
    assert (decision.approver.email, decision.verdict) == ("member@acme.test", "approve")
    [waiting] = awaiting(seeded["client@acme.test"]).rows
    assert waiting["id"] == request.public_id
    assert Entry.objects.filter(subject=request.public_id).count() >= 2
