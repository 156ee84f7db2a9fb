"""Load the demo firm, accounts and people. Idempotent: running it again changes nothing
that is already there and repairs what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import ClientAccount, ClientRole, FirmRole, Matter, MatterStatus, User
from accounts.services import client_accounts, matters
from accounts.services.firm import firm_get

DEMO_PASSWORD = "atrium-demo"  # noqa: S105 - the documented development-only demo password


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    firm_role: str = FirmRole.NONE


FIRM_PEOPLE = [
    DemoUser("admin@atrium.test", "Ada Admin", FirmRole.ADMIN),
    DemoUser("staff@atrium.test", "Sam Staff", FirmRole.STAFF),
    DemoUser("counsel@atrium.test", "Cora Counsel", FirmRole.STAFF),
]
CLIENT_PEOPLE = [
    DemoUser("client@acme.test", "Alex Acme"),
    DemoUser("member@acme.test", "Morgan Member"),
    DemoUser("client@globex.test", "Gina Globex"),
    DemoUser("gc@initech.test", "Ines Initech"),
    DemoUser("assistant@initech.test", "Ian Assistant"),
]
ACCOUNTS = {
    "acme": (
        "Acme Corporation",
        [("client@acme.test", ClientRole.ADMIN), ("member@acme.test", ClientRole.MEMBER)],
        [("staff@atrium.test", "Account lead")],
    ),
    "globex": (
        "Globex",
        [("client@globex.test", ClientRole.ADMIN)],
        [("counsel@atrium.test", "Implementation lead")],
    ),
    "initech": (
        "Initech Holdings",
        [("gc@initech.test", ClientRole.ADMIN), ("assistant@initech.test", ClientRole.MEMBER)],
        [("counsel@atrium.test", "Lead counsel"), ("staff@atrium.test", "Paralegal")],
    ),
}
MATTERS = [
    (
        "acme",
        "Website relaunch",
        MatterStatus.IN_PROGRESS,
        False,
        "Design, build and launch the new acme.test.",
    ),
    (
        "acme",
        "Brand guidelines",
        MatterStatus.WAITING_ON_CLIENT,
        False,
        "Waiting for the final logo files.",
    ),
    (
        "globex",
        "CRM implementation",
        MatterStatus.PLANNED,
        False,
        "Phase one: data migration and training.",
    ),
    ("initech", "Annual compliance review", MatterStatus.IN_PROGRESS, False, ""),
    (
        "initech",
        "Acquisition of Penetrode Inc.",
        MatterStatus.IN_PROGRESS,
        True,
        "Privileged and confidential: due diligence for the proposed acquisition.",
    ),
]
# The privileged matter is walled off: its lead counsel and the client's general counsel
# see it; the paralegal on the same team and the client's assistant do not.
PRIVILEGED_GRANTS = {"Acquisition of Penetrode Inc.": ["counsel@atrium.test", "gc@initech.test"]}


class Command(BaseCommand):
    help = "Create the demo firm, client accounts and people (development only)."

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "The demo data has a published password; it is never loaded in production mode."
            )
        with transaction.atomic():
            self._seed()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Sign in with any of these, password 'atrium-demo':"
            )
        )
        for person in FIRM_PEOPLE + CLIENT_PEOPLE:
            role = person.firm_role or "client"
            self.stdout.write(f"  {person.email:<26} {person.name:<16} {role}")

    def _seed(self) -> None:
        firm = firm_get()
        if firm.name == "Atrium":
            firm.name = "Northwind Partners"
            firm.primary_colour = "#1f3a5f"
            firm.accent_colour = "#e07a2f"
            firm.support_email = "help@atrium.test"
            firm.save()
        people = {}
        for person in FIRM_PEOPLE + CLIENT_PEOPLE:
            user = User.objects.filter(email=person.email).first()
            if user is None:
                user = User(email=person.email, name=person.name, firm_role=person.firm_role)
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save()
            people[person.email] = user
        accounts = {}
        for slug, (name, members, team) in ACCOUNTS.items():
            account = ClientAccount.objects.filter(slug=slug).first()
            if account is None:
                account = client_accounts.client_account_create(actor=None, name=name, slug=slug)
            accounts[slug] = account
            for email, role in members:
                client_accounts.membership_add(
                    actor=None, account=account, user=people[email], role=role
                )
            for email, title in team:
                client_accounts.team_assign(
                    actor=None, account=account, user=people[email], title=title
                )
        for slug, title, status, privileged, description in MATTERS:
            matter = Matter.objects.filter(account=accounts[slug], title=title).first()
            if matter is None:
                matter = matters.matter_create(
                    actor=None,
                    account=accounts[slug],
                    title=title,
                    status=status,
                    privileged=privileged,
                    description=description,
                )
            for email in PRIVILEGED_GRANTS.get(title, []):
                matters.matter_grant(actor=None, matter=matter, user=people[email])
