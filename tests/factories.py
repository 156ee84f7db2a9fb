"""Test data built through the services, so every grant follows as it does in the product."""

from __future__ import annotations

import itertools
from functools import cache
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password

from accounts.models import ClientAccount, ClientRole, FirmRole, Matter, User
from accounts.services import client_accounts, matters, sessions

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@cache
def _password_hash() -> str:
    # One real argon2 hash for every test user: hashing per user would dominate the suite.
    return make_password(PASSWORD)


# Every role the ``people`` fixture (tests/conftest.py) has one person for, around Acme.
ROLES = (
    "firm_admin",
    "staff_on_team",
    "staff_off_team",
    "client_admin",
    "client_member",
    "other_client",
)


def user(
    *,
    email: str | None = None,
    name: str | None = None,
    firm_role: str = FirmRole.NONE,
    active: bool = True,
) -> User:
    n = next(_counter)
    person = User(
        email=email or f"person{n}@example.test",
        name=name or f"Person {n}",
        firm_role=firm_role,
        is_active=active,
        password=_password_hash(),
    )
    person.save()
    return person


def firm_admin(**kwargs) -> User:
    return user(firm_role=FirmRole.ADMIN, **kwargs)


def staff(*, accounts: tuple[ClientAccount, ...] = (), **kwargs) -> User:
    person = user(firm_role=FirmRole.STAFF, **kwargs)
    for account in accounts:
        client_accounts.team_assign(actor=None, account=account, user=person)
    return person


def client(account: ClientAccount, *, role: str = ClientRole.MEMBER, **kwargs) -> User:
    person = user(**kwargs)
    client_accounts.membership_add(actor=None, account=account, user=person, role=role)
    return person


def account(name: str | None = None) -> ClientAccount:
    return client_accounts.client_account_create(
        actor=None, name=name or f"Client {next(_counter)}"
    )


def matter(
    account: ClientAccount,
    *,
    privileged: bool = False,
    grants: tuple[User, ...] = (),
    title: str | None = None,
) -> Matter:
    item = matters.matter_create(
        actor=None,
        account=account,
        title=title or f"Matter {next(_counter)}",
        privileged=privileged,
    )
    for person in grants:
        matters.matter_grant(actor=None, matter=item, user=person)
    return item


def website_plan(account: ClientAccount, *, lead: User, member: User, due):
    """The account's "Website relaunch", led by ``lead``: a "Design" milestone due ``due``
    with a task for ``member`` (``mine``) and one for "the client" (``clients``), and a task
    for the lead outside any milestone (``team``)."""
    from types import SimpleNamespace

    from projects.models import Milestone, Task

    planned = matter(account, title="Website relaunch")
    planned.owner = lead
    planned.save(update_fields=["owner"])
    design = Milestone.objects.create(matter=planned, title="Design", due=due, position=0)
    mine = Task.objects.create(
        matter=planned, milestone=design, title="Send the logo files", assignee=member, position=0
    )
    clients = Task.objects.create(
        matter=planned, milestone=design, title="Fill in the brief", for_client=True, position=1
    )
    team = Task.objects.create(matter=planned, title="Draft the sitemap", assignee=lead, position=2)
    return SimpleNamespace(matter=planned, design=design, mine=mine, clients=clients, team=team)


def session_cookie(user: User, *, expiry: int | None = None) -> str:
    """A signed-in session for ``user``, stored as ``django.contrib.auth.login`` stores it,
    as a ``Cookie`` header value; ``expiry``: it expires that many seconds from now."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if expiry is not None:
        store.set_expiry(expiry)
    store.save()
    # Indexed as a sign-in through the login page indexes it.
    sessions.session_record(
        user=user, session_key=store.session_key, ip="127.0.0.1", user_agent="tests"
    )
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def totp_code(device, at: float | None = None) -> str:
    """The code an authenticator app shows for ``device`` at ``at`` (a ``time.time()``
    value; now if None)."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def image_bytes(
    width: int = 640,
    height: int = 480,
    *,
    fmt: str = "PNG",
    mode: str = "RGB",
    colour=(200, 40, 40),
    orientation: int | None = None,
) -> bytes:
    """A picture made by Pillow; ``orientation`` writes that EXIF orientation (JPEG), with
    a camera's make, so that a test can check both are gone from the thumbnail."""
    import io

    from PIL import Image

    picture = Image.new(mode, (width, height), colour if mode != "1" else 1)
    out = io.BytesIO()
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        exif[0x010F] = "Atrium Test Camera"  # Make
        picture.save(out, fmt, exif=exif.tobytes())
    else:
        picture.save(out, fmt)
    return out.getvalue()


def pdf_bytes(pages: int = 2) -> bytes:
    """A PDF of ``pages`` pages (one picture each: a dark box on a light page), as Pillow
    writes it."""
    import io

    from PIL import Image, ImageDraw

    sheets = [Image.new("RGB", (420, 595), (255, 255, 255 - 40 * n)) for n in range(pages)]
    for sheet in sheets:
        ImageDraw.Draw(sheet).rectangle((60, 60, 360, 200), fill=(20, 30, 90))
    out = io.BytesIO()
    sheets[0].save(out, "PDF", save_all=True, append_images=sheets[1:])
    return out.getvalue()


def invoice(
    account: ClientAccount,
    *,
    by: User,
    lines: tuple[tuple[str, str, str, str], ...] = (("Design", "2", "500.00", "20"),),
    currency: str = "EUR",
    sent: bool = False,
    due=None,
    number: str | None = None,
):
    """An invoice of ``lines`` (description, quantity, unit price, tax rate), a draft or, with
    ``sent``, as if sent (numbered, dated, the parties copied) without its events: for tests
    of what comes after sending."""
    from django.utils import timezone

    from billing import money
    from billing.models import Status
    from billing.services.drafts import draft_invoice_create
    from messaging.services import thread_ensure_general

    made = draft_invoice_create(
        actor=by,
        account=account,
        currency=currency,
        lines=[
            money.LineInput(description=d, quantity=_dec(q), unit_price=_dec(p), tax_rate=_dec(r))
            for d, q, p, r in lines
        ],
        due=due,
        thread=thread_ensure_general(account),
    )
    if sent:
        made.status = Status.SENT
        made.number = number or f"T-{next(_counter):05}"
        made.issue_date = timezone.localdate()
        made.sent_at = timezone.now()
        made.sent_by = by
        made.seller = {"legal_name": "Atrium Test Firm Ltd"}
        made.buyer = {"legal_name": account.name}
        made.save()
    return made


def _dec(text: str):
    from decimal import Decimal

    return Decimal(text)


def proposal(
    account: ClientAccount,
    *,
    by: User,
    lines: tuple[tuple[str, str, str, str], ...] = (("Design", "2", "500.00", "20"),),
    currency: str = "EUR",
    title: str = "Website redesign",
    sent: bool = False,
    valid_until=None,
    document=None,
    deposit_percent: str | None = None,
):
    """A proposal of ``lines`` (description, quantity, unit price, tax rate), drafted by
    ``by`` through the service, and sent by them with ``sent`` (its events written)."""
    from billing import money
    from billing.services import proposals

    made = proposals.proposal_create(
        actor=by,
        account=account,
        title=title,
        currency=currency,
        lines=[
            money.LineInput(description=d, quantity=_dec(q), unit_price=_dec(p), tax_rate=_dec(r))
            for d, q, p, r in lines
        ],
        valid_until=valid_until,
        document=document,
        deposit_percent=deposit_percent,
    )
    if sent:
        made = proposals.proposal_send(actor=by, proposal=made)
    return made


def signature_request(
    account: ClientAccount,
    *,
    by: User,
    signers: tuple[User, ...],
    approvers: tuple[User, ...] = (),
    viewers: tuple[User, ...] = (),
    order: str = "sequential",
    document=None,
    data: bytes | None = None,
    filename: str = "agreement.pdf",
    title: str = "Service agreement",
    due=None,
    message: str = "",
):
    """A signature request of ``account`` asked by ``by`` through the service, on the newest
    version of ``document``, or of a new document of ``data`` (a PDF by default) uploaded by
    them."""
    from approvals import services
    from tests.vault.helpers import sealed_upload
    from vault import services as vault_services

    if document is None:
        document = vault_services.document_create(
            actor=by,
            account=account,
            upload=sealed_upload(pdf_bytes(1) if data is None else data, filename),
            title=title,
        ).document
    return services.signature_create(
        actor=by,
        account=account,
        version=document.latest_version,
        signers=list(signers),
        approvers=list(approvers),
        viewers=list(viewers),
        order=order,
        due=due.isoformat() if due is not None else None,
        message=message,
    )


def category(
    name: str | None = None,
    *,
    account: ClientAccount | None = None,
    targets: dict | None = None,
    is_status: bool = False,
):
    """A support category (firm-wide unless ``account``), with SLA targets per priority as
    ``{"normal": (first_response_minutes, resolution_minutes), ...}``."""
    from support.models import Category, SlaTarget

    made = Category.objects.create(
        name=name or f"Category {next(_counter)}", account=account, is_status=is_status
    )
    for priority, (first, resolution) in (targets or {}).items():
        SlaTarget.objects.create(
            category=made,
            priority=priority,
            first_response_minutes=first,
            resolution_minutes=resolution,
        )
    return made


_new_category = category


def ticket(
    account: ClientAccount,
    *,
    by: User,
    category=None,
    subject: str | None = None,
    body: str = "Please help.",
    priority: str | None = None,
):
    """A ticket opened through ``support.services.ticket_open`` (a firm-wide category made
    for it unless given)."""
    from support.services import ticket_open

    return ticket_open(
        actor=by,
        account=account,
        category=category or _new_category(),
        subject=subject or f"Question {next(_counter)}",
        body=body,
        priority=priority,
    )
