"""Matter and account pages kept live: a status change shows in the thread it is recorded in
(the page's first events carry it), and both pages mark the status they show so that the
socket client can redraw it when a ``matter.status`` event arrives."""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.urls import reverse

from accounts.services.matters import matter_set_status
from messaging.models import Thread
from tests import factories


def chat_data(response) -> dict:
    match = re.search(
        r'<script id="chat-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match
    return json.loads(match.group(1))


def test_a_status_change_is_among_the_thread_pages_first_events(client, people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    matter = factories.matter(acme, title="Harbour lease renewal")
    matter_set_status(actor=staff, matter=matter, status="waiting_on_client")
    general = Thread.objects.get(account=acme, is_general=True)
    client.force_login(member)
    data = chat_data(client.get(reverse("frontend:thread", args=[general.public_id])))
    [event] = [e for e in data["events"] if e["type"] == "matter.status"]
    assert event["matter"]["id"] == matter.public_id
    assert event["status"] == {"value": "waiting_on_client", "label": "Waiting on client"}


def test_the_matter_and_account_pages_mark_their_statuses_for_live_updates(client, people, acme):
    matter = factories.matter(acme, title="Harbour lease renewal")
    client.force_login(people["client_member"])
    for url, script in (
        # The matter page's plan script brings matters.js with it.
        (reverse("frontend:matter", args=[matter.public_id]), "frontend/js/matter_plan.js"),
        (reverse("frontend:account", args=[acme.public_id]), "frontend/js/matters.js"),
    ):
        page = client.get(url).content.decode()
        assert script in page
        assert f'data-account="{acme.public_id}"' in page
        assert f'data-matter-status="{matter.public_id}"' in page
        assert "frontend/js/portal.js" not in page  # matters.js brings it: one socket per tab


def test_the_plan_script_brings_the_status_script():
    source = (
        settings.BASE_DIR / "frontend" / "static" / "frontend" / "js" / "matter_plan.js"
    ).read_text()
    assert 'import "./matters.js";' in source
