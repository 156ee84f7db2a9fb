"""A world to search: Acme's people in every role, Globex beside it, and in Acme an ordinary
thread, document and matter next to a privileged matter with its thread and document, each
holding the word ``zebra``. Writes run their after-commit work (the index follows the
apps' signals), and reading a document's text runs at once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest

from accounts.models import ClientAccount, Matter
from messaging import services as messaging_services
from messaging.models import Thread
from tests import factories
from tests.search.helpers import add_document, pdf_bytes, run_search_tasks, send
from vault.models import Document


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block's after-commit work (signals, the index) as a commit would, then the
    search tasks it queued."""

    @contextlib.contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        run_search_tasks()

    return block


@pytest.fixture
def acme(db, committed):
    with committed():
        return factories.account("Acme")


@pytest.fixture
def globex(db, committed):
    with committed():
        return factories.account("Globex")


@pytest.fixture
def people(acme, globex, committed):
    """``tests/conftest.py``'s people, made as a commit would: the index hears of them."""
    with committed():
        return {
            "firm_admin": factories.firm_admin(name="Fiona Admin"),
            "staff_on_team": factories.staff(accounts=(acme,), name="Sam Staff"),
            "staff_off_team": factories.staff(accounts=(globex,), name="Olive Other"),
            "client_admin": factories.client(acme, role="admin", name="Alex Acme"),
            "client_member": factories.client(acme, name="Morgan Member"),
            "other_client": factories.client(globex, role="admin", name="Gina Globex"),
        }


@dataclass
class World:
    people: dict
    acme: ClientAccount
    globex: ClientAccount
    general: Thread
    deal: Matter
    deal_thread: Thread
    memo: Document
    brief: Document
    message: str
    secret_message: str
    globex_message: str
    matter: Matter


@pytest.fixture
def world(acme, globex, people, committed) -> World:
    with committed():
        general = Thread.objects.get(account=acme, is_general=True)
        globex_general = Thread.objects.get(account=globex, is_general=True)
        message = send(people["client_admin"], general, "The zebra crossing plan is ready")
        globex_message = send(people["other_client"], globex_general, "A zebra at Globex")
        matter = factories.matter(acme, title="Zebra relaunch")
        deal = factories.matter(
            acme,
            privileged=True,
            grants=(people["staff_on_team"], people["client_admin"]),
            title="Acquisition of Penetrode",
        )
        deal_thread = messaging_services.thread_create(
            actor=people["staff_on_team"], account=acme, title="Counsel only", matter=deal
        )
        secret_message = send(people["staff_on_team"], deal_thread, "The zebra price is agreed")
        memo = add_document(
            people["staff_on_team"],
            acme,
            pdf_bytes("Heads of terms", "The quagga clause stays confidential"),
            "zebra-terms.pdf",
            title="Zebra term sheet",
            description="okapi notes",
            matter=deal,
        )
        brief = add_document(
            people["client_member"],
            acme,
            pdf_bytes("Brand brief", "The zebra stripes are our colours"),
            "brief.pdf",
            title="Brand brief",
        )
    return World(
        people=people,
        acme=acme,
        globex=globex,
        general=general,
        deal=deal,
        deal_thread=deal_thread,
        memo=memo,
        brief=brief,
        message=message,
        secret_message=secret_message,
        globex_message=globex_message,
        matter=matter,
    )
