"""Load the demo: firm, client accounts, people, matters, threads, a few messages and documents,
an approval under way, a statement of work waiting for Alex's signature, two checklist
templates, a plan half-way through, and billing (the firm's details, Acme's, four invoices in
every state and a proposal with a deposit), and the support desk (categories with SLA targets,
a queue, routing rules, the firm's hours and three Acme tickets: ``demo_support``).
Idempotent: running it again changes nothing that is already there and repairs what is
missing. It lives with the pages because it composes every app."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import ClientAccount, ClientRole, FirmRole, Matter, MatterStatus, User
from accounts.services import client_accounts, matters
from accounts.services.firm import firm_get
from approvals import services as approvals
from approvals.models import ApprovalRequest, SignatureRequest
from billing import money
from billing.models import BillingProfile, Invoice, Proposal
from billing.selectors.settings import settings_get
from billing.services import invoices as invoicing
from billing.services import payments, proposals
from billing.services import settings as billing_settings
from frontend.management.demo_support import seed_support
from messaging import services as messaging
from messaging.models import Thread
from projects import services as plans
from projects.models import ChecklistTemplate, Task
from vault import services as vault
from vault.models import Document, Folder
from vault.uploads import sealed_from_bytes

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
        [("staff@atrium.test", "Project manager", True)],
    ),
    "globex": (
        "Globex",
        [("client@globex.test", ClientRole.ADMIN)],
        [("counsel@atrium.test", "Implementation lead", True)],
    ),
    "initech": (
        "Initech Holdings",
        [("gc@initech.test", ClientRole.ADMIN), ("assistant@initech.test", ClientRole.MEMBER)],
        [("counsel@atrium.test", "Lead counsel", True), ("staff@atrium.test", "Paralegal", False)],
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
# (account, thread title, matter title or None); General threads exist with their accounts.
THREADS = [
    ("acme", "Website relaunch", "Website relaunch"),
    ("initech", "Penetrode: counsel only", "Acquisition of Penetrode Inc."),
]
# (account, thread title, author, body), in order.
CONVERSATION = [
    (
        "acme",
        "General",
        "staff@atrium.test",
        "Welcome to your portal, Alex! Everything about our work together lives here now.",
    ),
    (
        "acme",
        "General",
        "client@acme.test",
        "Thanks Sam. Morgan will join us for the brand guidelines.",
    ),
    (
        "acme",
        "Website relaunch",
        "staff@atrium.test",
        "The staging site is up: https://staging.acme.test",
    ),
    (
        "acme",
        "Website relaunch",
        "client@acme.test",
        "Looks great. Can we move the contact form above the fold?",
    ),
    (
        "initech",
        "Penetrode: counsel only",
        "counsel@atrium.test",
        "Draft term sheet is ready for your review, Ines.",
    ),
    (
        "initech",
        "General",
        "staff@atrium.test",
        "The compliance checklist for this quarter is on its way.",
    ),
]
APPROVAL_TITLE = "Brand guidelines sign-off"
SIGNATURE_DOCUMENT = "Statement of work"

# The firm's checklist templates: (name, description, milestones as (title, day), tasks as
# (title, kind, the client's?, day, vault folder, milestone index)), days after the start.
TEMPLATES = [
    (
        "12-week SaaS rollout",
        "From kick-off to go-live of a hosted product in twelve weeks: configuration, data "
        "migration, training and the switch from the old system.",
        [
            ("Kick-off and discovery", 7),
            ("Configuration signed off", 28),
            ("Data migrated", 49),
            ("Team trained", 70),
            ("Go-live", 84),
        ],
        [
            ("Hold the kick-off call", "todo", False, 2, "", 0),
            ("Send the list of administrators and their e-mail addresses", "todo", True, 5, "", 0),
            ("Upload your current process documents", "upload", True, 7, "Process documents", 0),
            ("Share the discovery workshop summary", "todo", False, 7, "", 0),
            ("Configure workspaces, roles and permissions", "todo", False, 21, "", 1),
            ("Connect single sign-on to your identity provider", "todo", True, 24, "", 1),
            ("Review and sign off the configuration", "todo", True, 28, "", 1),
            ("Export your data from the old system", "upload", True, 35, "Data exports", 2),
            ("Map the fields and run a test import", "todo", False, 42, "", 2),
            ("Check the test import", "todo", True, 45, "", 2),
            ("Run the final import", "todo", False, 49, "", 2),
            ("Train the administrators", "todo", False, 60, "", 3),
            ("Train the end users", "todo", False, 67, "", 3),
            ("Confirm that every user has signed in", "todo", True, 70, "", 3),
            ("Go through the go-live checklist", "todo", False, 80, "", 4),
            ("Switch off the old system", "todo", True, 84, "", 4),
            ("Hand over to the support team", "todo", False, 84, "", 4),
        ],
    ),
    (
        "Client onboarding",
        "The first month with a new client: the engagement letter and checks, the portal set "
        "up for their team, and the first piece of work agreed.",
        [("Paperwork done", 7), ("Portal set up", 14), ("First deliverable agreed", 30)],
        [
            ("Sign the engagement letter", "todo", True, 3, "", 0),
            (
                "Upload the company registration documents",
                "upload",
                True,
                5,
                "Onboarding documents",
                0,
            ),
            ("Run the conflict and identity checks", "todo", False, 7, "", 0),
            ("Invite your team to the portal", "todo", True, 10, "", 1),
            ("Give us a billing contact and invoicing details", "todo", True, 12, "", 1),
            ("Hold the kick-off meeting", "todo", False, 14, "", 1),
            ("Agree the scope of the first deliverable", "todo", False, 21, "", 2),
            ("Share brand assets and logins", "upload", True, 25, "Brand assets", 2),
        ],
    ),
]
# Acme's rollout, planned from the first template five weeks ago: the first milestone done,
# the second done but for the client's single sign-on (overdue), the data export due today.
PLAN_TITLE = "Support desk rollout"
PLAN_TEMPLATE = "12-week SaaS rollout"
PLAN_WEEKS_AGO = 5
PLAN_DONE = [
    ("Hold the kick-off call", "staff@atrium.test"),
    ("Send the list of administrators and their e-mail addresses", "client@acme.test"),
    ("Upload your current process documents", "member@acme.test"),
    ("Share the discovery workshop summary", "staff@atrium.test"),
    ("Configure workspaces, roles and permissions", "staff@atrium.test"),
    ("Review and sign off the configuration", "client@acme.test"),
]
# The firm's billing details and Acme's, as invoices print them (VAT numbers that
# python-stdnum accepts).
FIRM_BILLING = {
    "legal_name": "Atrium Demo LLP",
    "address": "14 Harbour Street\nLondon EC1A 4HD\nUnited Kingdom",
    "vat_number": "GB980780684",
    "email": "accounts@atrium.test",
    "country": "GB",
    "payment_terms": "Bank transfer within 30 days to Atrium Demo LLP, IBAN GB33 BUKB 2020 "
    "1555 5555 55, BIC BUKBGB22. Please quote the invoice number.",
}
ACME_BILLING = {
    "legal_name": "Acme Corporation GmbH",
    "address": "Friedrichstraße 100\n10117 Berlin\nGermany",
    "vat_number": "DE136695976",
    "email": "accounts@acme.test",
    "country": "DE",
}
# Acme's invoices, each known by its notes: (notes, lines, what happens to it). Amounts in
# EUR, tax 19 % (Germany). "paid": sent and paid in full; "part": sent, due in DUE_SOON_DAYS,
# PART_PAID of it paid; "overdue": sent OVERDUE_DAYS past its due date, unpaid; "draft": not
# sent.
DUE_SOON_DAYS = 5
OVERDUE_DAYS = 12
PART_PAID = "1000.00"
# The overdue one is sent first, so that numbers follow issue dates.
INVOICES = [
    (
        "Brand guidelines: first draft.",
        [("Brand guidelines, first draft", "1", "1800.00")],
        "overdue",
    ),
    (
        "Discovery and kick-off for the website relaunch.",
        [("Discovery workshop (2 days)", "2", "1200.00"), ("Project set-up", "1", "350.00")],
        "paid",
    ),
    (
        "Website relaunch: design phase.",
        [("Design sprint", "3", "950.00"), ("Stock photography licences", "4", "45.00")],
        "part",
    ),
    (
        "Support desk rollout: configuration.",
        [
            ("Configuration of workspaces and roles", "16", "110.00"),
            ("Single sign-on", "1", "600.00"),
        ],
        "draft",
    ),
]
PROPOSAL_TITLE = "Support desk rollout, phase two"
_DEMO_NAMESPACE = uuid.UUID("6f1d6c2e-58a4-4c1e-9b5e-0a7d1f3b9c11")


# (account slug, folder or None, matter title or None, uploader, file name, title, text).
# A document of a privileged matter is privileged to the matter's grantees.
def _demo_pdf() -> bytes:
    """A two-page statement of work, so that the document page has a PDF to preview."""
    pages = []
    for number, heading in enumerate(("Statement of work", "Milestones"), start=1):
        page = Image.new("RGB", (620, 877), "white")
        draw = ImageDraw.Draw(page)
        draw.rectangle((0, 0, 620, 90), fill=(31, 58, 95))
        draw.text((40, 35), f"Acme Shipping - {heading}", fill="white", font_size=24)
        for line in range(12):
            draw.line((40, 140 + 40 * line, 580 - 60 * (line % 3), 140 + 40 * line), fill="grey")
        draw.text((40, 830), f"Page {number} of 2", fill="black", font_size=14)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


def _demo_photo() -> bytes:
    """A picture of the harbour, so that the vault has a thumbnail and an image preview."""
    photo = Image.new("RGB", (1200, 800), (135, 190, 230))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((0, 520, 1200, 800), fill=(30, 90, 140))
    for x, colour in ((150, (200, 60, 50)), (430, (240, 170, 40)), (710, (60, 140, 80))):
        draw.rectangle((x, 380, x + 220, 520), fill=colour)
    draw.ellipse((960, 80, 1080, 200), fill=(250, 220, 90))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=85)
    return out.getvalue()


DOCUMENTS = [
    (
        "acme",
        "Deliverables",
        None,
        "staff@atrium.test",
        "brand-guidelines.md",
        "Brand guidelines, first draft",
        "# Acme brand guidelines\n\nPrimary colour: Acme red. Logo clear space: one 'A'.\n",
    ),
    (
        "initech",
        None,
        "Acquisition of Penetrode Inc.",
        "counsel@atrium.test",
        "penetrode-term-sheet.txt",
        "Penetrode term sheet (draft)",
        "Term sheet: acquisition of Penetrode Inc. by Initech. Privileged and confidential.\n",
    ),
    (
        "acme",
        "Deliverables",
        None,
        "staff@atrium.test",
        "statement-of-work.pdf",
        "Statement of work",
        _demo_pdf,
    ),
    ("acme", None, None, "client@acme.test", "harbour.jpg", "Harbour photo", _demo_photo),
]


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
            for email, title, lead in team:
                client_accounts.team_assign(
                    actor=None, account=account, user=people[email], title=title, lead=lead
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
        threads = {}
        for slug, account in accounts.items():
            threads[slug, "General"] = messaging.thread_ensure_general(account)
        for slug, title, matter_title in THREADS:
            thread = Thread.objects.filter(account=accounts[slug], title=title).first()
            if thread is None:
                matter = Matter.objects.get(account=accounts[slug], title=matter_title)
                thread = messaging.thread_create(
                    actor=None, account=accounts[slug], title=title, matter=matter
                )
            threads[slug, title] = thread
        self._seed_documents(accounts, people)
        self._seed_approval(accounts, people)
        self._seed_signature(accounts, people)
        self._seed_plans(accounts, people)
        self._seed_billing(accounts, people)
        seed_support(accounts=accounts, people=people)
        for n, (slug, title, author, body) in enumerate(CONVERSATION):
            # A fixed client id per line: a second run is a retry, and retries store nothing.
            messaging.message_send(
                actor=people[author],
                thread_id=threads[slug, title].public_id,
                client_id=uuid.uuid5(_DEMO_NAMESPACE, f"{n}:{body}"),
                body=body,
            )

    def _seed_approval(self, accounts: dict, people: dict) -> None:
        """Acme is asked to sign off the brand guidelines; Morgan has approved, Alex has not
        yet (once: a request of that title is left as it is)."""
        account = accounts["acme"]
        if ApprovalRequest.objects.filter(account=account, title=APPROVAL_TITLE).exists():
            return
        guidelines = Document.objects.get(account=account, title="Brand guidelines, first draft")
        request = approvals.approval_create(
            actor=people["staff@atrium.test"],
            account=account,
            title=APPROVAL_TITLE,
            message="Please sign off the first draft, or tell us what to change.",
            versions=[guidelines.latest_version.public_id],
            approvers=[people["client@acme.test"].public_id, people["member@acme.test"].public_id],
            policy_value="all",
            due=(timezone.localdate() + timedelta(days=7)).isoformat(),
        )
        approvals.approval_decide(
            actor=people["member@acme.test"],
            request=request,
            verdict="approve",
            comment="The colours are right.",
            shown=[guidelines.latest_version.public_id],
        )

    def _seed_signature(self, accounts: dict, people: dict) -> None:
        """Acme's statement of work (a PDF) waits for Alex's signature, with Morgan told
        (once: a request on that document is left as it is, whatever became of it)."""
        account = accounts["acme"]
        document = Document.objects.get(account=account, title=SIGNATURE_DOCUMENT)
        if SignatureRequest.objects.filter(account=account, version__document=document).exists():
            return
        approvals.signature_create(
            actor=people["staff@atrium.test"],
            account=account,
            version=document.latest_version,
            signers=[people["client@acme.test"].public_id],
            viewers=[people["member@acme.test"].public_id],
            order="sequential",
            due=(timezone.localdate() + timedelta(days=10)).isoformat(),
            message="Here is the statement of work we agreed on the call. Please sign it.",
        )

    def _seed_plans(self, accounts: dict, people: dict) -> None:
        """The firm's two templates, and Acme's rollout planned from one and part done (each
        once: a template or matter of that name is left as it is)."""
        for name, description, milestones, tasks in TEMPLATES:
            if ChecklistTemplate.objects.filter(name=name).exists():
                continue
            plans.template_create(
                actor=people["admin@atrium.test"],
                name=name,
                description=description,
                milestones=[{"title": title, "offset_days": day} for title, day in milestones],
                tasks=[
                    {
                        "title": title,
                        "kind": kind,
                        "for_client": for_client,
                        "offset_days": day,
                        "folder": folder,
                        "milestone": milestone,
                    }
                    for title, kind, for_client, day, folder, milestone in tasks
                ],
            )
        account = accounts["acme"]
        if Matter.objects.filter(account=account, title=PLAN_TITLE).exists():
            return
        manager = people["staff@atrium.test"]
        matter = plans.matter_plan_create(
            actor=manager,
            account=account,
            title=PLAN_TITLE,
            template=ChecklistTemplate.objects.get(name=PLAN_TEMPLATE),
            start=timezone.localdate() - timedelta(weeks=PLAN_WEEKS_AGO),
            description="Moving Acme's customer support to the new help desk, by the end of "
            "the quarter.",
            owner=manager.public_id,
        )
        # Five weeks in, the work is under way: the status says so, as the team would set it.
        matters.matter_set_status(actor=manager, matter=matter, status=MatterStatus.IN_PROGRESS)
        for title, email in PLAN_DONE:
            plans.task_set_done(
                actor=people[email], task=Task.objects.get(matter=matter, title=title), done=True
            )

    def _seed_documents(self, accounts: dict, people: dict) -> None:
        """A few vault documents (once: a document of that title is left as it is)."""
        for slug, folder_name, matter_title, uploader, filename, title, content in DOCUMENTS:
            account = accounts[slug]
            if Document.objects.filter(account=account, title=title).exists():
                continue
            folder = None
            if folder_name:
                folder = Folder.objects.filter(account=account, name=folder_name).first()
                if folder is None:
                    folder = vault.folder_create(
                        actor=people[uploader], account=account, name=folder_name
                    )
            matter = (
                Matter.objects.get(account=account, title=matter_title) if matter_title else None
            )
            vault.document_create(
                actor=people[uploader],
                account=account,
                upload=sealed_from_bytes(
                    content() if callable(content) else content.encode(), filename
                ),
                title=title,
                folder=folder,
                matter_id=matter.public_id if matter else None,
            )

    def _seed_billing(self, accounts: dict, people: dict) -> None:
        """The firm's billing details and Acme's (each set once: details already there are
        left as they are), Acme's invoices (each once, known by its notes) and a proposal
        with a deposit (once, by its title), all through the billing services. Sending
        prints a PDF; a run that finds them all reads a few rows and prints nothing."""
        admin = people["admin@atrium.test"]
        manager = people["staff@atrium.test"]
        account = accounts["acme"]
        if not settings_get().legal_name:
            billing_settings.billing_settings_update(actor=admin, **FIRM_BILLING)
        if not BillingProfile.objects.filter(account=account).exclude(legal_name="").exists():
            billing_settings.billing_profile_update(
                actor=people["client@acme.test"], account=account, **ACME_BILLING
            )
        today = invoicing.firm_today()
        have = set(
            Invoice.objects.filter(account=account, notes__in=[i[0] for i in INVOICES]).values_list(
                "notes", flat=True
            )
        )
        for notes, lines, fate in INVOICES:
            if notes not in have:
                self._demo_invoice(account, manager, notes, lines, fate, today)
        if not Proposal.objects.filter(account=account, title=PROPOSAL_TITLE).exists():
            proposal = proposals.proposal_create(
                actor=manager,
                account=account,
                title=PROPOSAL_TITLE,
                currency="EUR",
                lines=[
                    _line("Migration of the help-desk history", "1", "2400.00"),
                    _line("Training for 40 agents (half days)", "4", "650.00"),
                ],
                valid_until=today + timedelta(days=30),
                deposit_percent="30",
                notes="A deposit of 30 % is invoiced on acceptance; the rest on go-live.",
            )
            proposals.proposal_send(actor=manager, proposal=proposal)

    def _demo_invoice(self, account, manager, notes, lines, fate, today) -> None:
        invoice = invoicing.invoice_create(
            actor=manager,
            account=account,
            currency="EUR",
            lines=[_line(*line) for line in lines],
            due=today + timedelta(days=DUE_SOON_DAYS) if fate == "part" else None,
            notes=notes,
        )
        if fate == "draft":
            return
        invoice = invoicing.invoice_send(actor=manager, invoice=invoice)
        if fate == "paid":
            payments.payment_record(
                actor=manager,
                invoice=invoice,
                amount=money.text(invoice.balance, invoice.currency),
                method="bank_transfer",
                reference=f"Acme remittance {invoice.number}",
            )
        elif fate == "part":
            payments.payment_record(
                actor=manager,
                invoice=invoice,
                amount=PART_PAID,
                method="bank_transfer",
                reference=f"Acme part payment {invoice.number}",
            )
        elif fate == "overdue":
            _backdate_demo_invoice(invoice, today - timedelta(days=30 + OVERDUE_DAYS))


def _line(description: str, quantity: str, unit_price: str) -> dict:
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": "19",
    }


def _backdate_demo_invoice(invoice: Invoice, issued) -> None:
    """Seed only, never in the product: move a just-sent invoice's issue date to ``issued``
    and its due date to 30 days after, so that the demo has an overdue invoice on its first
    day. The billing services refuse a due date in the past (a real invoice is sent today),
    so the demo sends it today and then changes the dates; its PDF in the vault and its
    ledger entry keep the dates it was really sent with. Saving the due date queues its
    reminders again (the one after the due date is already due)."""
    invoice.issue_date = issued
    invoice.due_date = issued + timedelta(days=30)
    invoice.save(update_fields=["issue_date", "due_date"])
