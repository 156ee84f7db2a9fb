"""A client's home answers where things stand, what waits for them, what is new and who
serves them, and links to the account page for the rest; its cost does not grow with what it
summarises (the plans' part: tests/frontend/test_status_pages.py)."""

from __future__ import annotations

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import MatterStatus
from accounts.services import matters
from messaging import services as messaging
from vault import services as vault
from vault.uploads import FIELD, SealingUploadHandler

HOME = reverse("frontend:home")


def add_document(actor, account, title: str, **kwargs):
    content = f"%PDF-1.4 {title}".encode()
    handler = SealingUploadHandler(max_bytes=len(content) + 1)
    handler.new_file(FIELD, "file.pdf", "application/octet-stream", len(content))
    handler.receive_data_chunk(content, 0)
    upload = handler.file_complete(len(content))
    try:
        return vault.document_create(
            actor=actor, account=account, upload=upload, title=title, **kwargs
        ).document
    finally:
        upload.close()


def say(actor, account, body: str) -> None:
    thread = messaging.thread_ensure_general(account)
    messaging.message_send(
        actor=actor, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    )


def matter(account, title: str, status: str = MatterStatus.PLANNED):
    return matters.matter_create(actor=None, account=account, title=title, status=status)


def test_where_we_are_what_waits_and_what_is_new(client, acme, globex, people):
    staff = people["staff_on_team"]
    matter(acme, "Harbour lease", MatterStatus.IN_PROGRESS)
    matter(acme, "Signatures", MatterStatus.WAITING_ON_CLIENT)
    add_document(staff, acme, "Statement of work")
    add_document(staff, acme, "Board minutes", privileged=True)
    add_document(people["other_client"], globex, "Globex customs forms")
    say(staff, acme, "Hello Acme")
    client.force_login(people["client_member"])
    html = client.get(HOME).content.decode()

    where = html[html.index('id="where-h"') : html.index('id="new-h"')]
    assert "Harbour lease" in where and "In progress" in where
    assert "Signatures" in where and "Waiting on client" in where
    new = html[html.index('id="new-h"') : html.index('id="team-h"')]
    assert "Statement of work" in new and "General" in new
    assert "Board minutes" not in html and "Globex" not in html
    assert reverse("frontend:account", args=[acme.public_id]) in html
    # Who to turn to is on the home page itself.
    team = html[html.index('id="team-h"') :]
    assert "Sam Staff" in team and "mailto:" + staff.email in team


def test_nothing_waiting_and_nothing_new_say_so(client, acme, people):
    client.force_login(people["client_member"])
    html = client.get(HOME).content.decode()
    assert "Nothing is waiting on you" in html
    assert "You are up to date" in html


def test_home_costs_the_same_queries_however_much_there_is(client, acme, people):
    staff = people["staff_on_team"]
    client.force_login(people["client_member"])

    def add(n: int) -> None:
        matter(acme, f"Matter {n}", MatterStatus.WAITING_ON_CLIENT)
        add_document(staff, acme, f"Document {n}")
        say(staff, acme, f"Message {n}")

    def cost() -> int:
        client.get(HOME)  # sessions and caches settle
        with CaptureQueriesContext(connection) as queries:
            assert client.get(HOME).status_code == 200
        return len(queries)

    add(0)
    one = cost()
    for n in range(1, 8):
        add(n)
    assert cost() == one
