"""Conversation pages over HTTP: who sees which thread, the links to threads from the other
pages, opening a thread from the account page, and a thread page whose cost does not grow
with the number of threads."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import permissions
from messaging import services as messaging
from messaging import timeline
from messaging.models import Thread
from tests import factories

MADE_UP_THREAD = "thr_aaaaaaaaaaaaaaaaaaaaaaaa"
LOGIN = reverse("frontend:login")
XSS = "<img src=x onerror=alert(1)>"

ROLES = factories.ROLES
# Which roles may read each thread (the grantee holds the privileged thread's grant).
READERS = {
    "acme_general": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "globex_general": {"firm_admin", "staff_off_team", "other_client"},
    "acme_matter_thread": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "privileged_granted": {"staff_on_team", "client_admin"},
    "privileged_not_granted": set(),
}
# Who may open a thread in Acme.
ACME_OPENERS = {"firm_admin", "staff_on_team"}


def general(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def say(user, thread: Thread, body: str) -> None:
    messaging.message_send(
        actor=user, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    )


def body(response) -> str:
    return response.content.decode()


def normalised(response) -> str:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body(response))
    return re.sub(r'nonce="[^"]*"', "", page)


def chat_data(response) -> dict:
    match = re.search(
        r'<script id="chat-data" type="application/json">(.*?)</script>', body(response), re.S
    )
    assert match, "the page carries its chat data"
    return json.loads(match.group(1))


def thread_url(thread) -> str:
    public_id = thread if isinstance(thread, str) else thread.public_id
    return reverse("frontend:thread", args=[public_id])


@pytest.fixture
def world(acme, globex, people):
    matter = factories.matter(acme, title="Harbour lease renewal")
    secret_matter = factories.matter(
        acme,
        privileged=True,
        title="Quiet acquisition",
        grants=(people["staff_on_team"], people["client_admin"]),
    )
    threads = {
        "acme_general": general(acme),
        "globex_general": general(globex),
        "acme_matter_thread": messaging.thread_create(
            actor=people["staff_on_team"], account=acme, title="Lease questions", matter=matter
        ),
        # A thread of a privileged matter starts granted to the matter's grantees.
        "privileged_granted": messaging.thread_create(
            actor=None, account=acme, title="Acquisition terms", matter=secret_matter
        ),
        # Privileged, granted to nobody in the cast.
        "privileged_not_granted": messaging.thread_create(
            actor=None, account=acme, title="Board-only notes", privileged=True
        ),
    }
    return SimpleNamespace(
        acme=acme,
        globex=globex,
        matter=matter,
        secret_matter=secret_matter,
        people=people,
        threads=threads,
    )


# --- who sees which thread ------------------------------------------------------------------


@pytest.mark.parametrize("case", list(READERS))
@pytest.mark.parametrize("role", ROLES)
def test_thread_page_per_role(client, world, role, case):
    thread = world.threads[case]
    client.force_login(world.people[role])
    response = client.get(thread_url(thread))
    if role in READERS[case]:
        assert response.status_code == 200
        page = body(response)
        assert thread.title in page
        assert thread.account.name in page
        assert 'id="composer-input"' in page
        data = chat_data(response)
        assert data["thread"] == {"id": thread.public_id, "title": thread.title}
        assert data["me"]["id"] == world.people[role].public_id
    else:
        missing = client.get(thread_url(MADE_UP_THREAD))
        assert response.status_code == missing.status_code == 404
        assert normalised(response) == normalised(missing)
        assert thread.title not in body(response)
        assert thread.public_id not in body(response)


@pytest.mark.parametrize("made_up", [MADE_UP_THREAD, "nonsense", "acc_" + "a" * 24, "1"])
def test_made_up_thread_ids_are_404(client, world, made_up):
    client.force_login(world.people["firm_admin"])
    assert client.get(thread_url(made_up)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    for url in (thread_url(world.threads["acme_general"]), reverse("frontend:threads")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")


def test_thread_page_shows_account_matter_and_privilege(client, world):
    client.force_login(world.people["client_admin"])
    page = body(client.get(thread_url(world.threads["acme_matter_thread"])))
    assert reverse("frontend:account", args=[world.acme.public_id]) in page
    assert reverse("frontend:matter", args=[world.matter.public_id]) in page
    assert "Harbour lease renewal" in page

    page = body(client.get(thread_url(world.threads["privileged_granted"])))
    assert "Privileged" in page
    assert reverse("frontend:matter", args=[world.secret_matter.public_id]) in page


def test_side_list_has_every_readable_thread_grouped_by_account(client, world):
    person = world.people["firm_admin"]
    client.force_login(person)
    page = body(client.get(thread_url(world.threads["acme_general"])))
    nav = page[
        page.index('<nav class="thread-nav"') : page.index("</nav>", page.index("thread-nav"))
    ]
    groups = re.findall(r'class="thread-group-name">([^<]+)<', nav)
    assert groups == ["Acme", "Globex"]
    readable = {t.public_id for t in messaging_visible(person)}
    linked = set(re.findall(r'data-thread="(thr_[^"]+)"', nav))
    assert linked == readable
    assert world.threads["privileged_not_granted"].public_id not in linked
    assert 'aria-current="page"' in nav


def messaging_visible(user):
    return permissions.visible_items(user, Thread.objects.all())


def test_side_list_leaves_out_what_the_person_may_not_read(client, world):
    client.force_login(world.people["client_member"])
    page = body(client.get(thread_url(world.threads["acme_general"])))
    for case in ("globex_general", "privileged_granted", "privileged_not_granted"):
        assert world.threads[case].public_id not in page
    for title in ("Acquisition terms", "Board-only notes"):
        assert title not in page
    assert "Globex" not in page
    assert "Quiet acquisition" not in page


def test_unread_badges_count_messages_by_others(client, world):
    staff, member = world.people["staff_on_team"], world.people["client_member"]
    thread = world.threads["acme_general"]
    say(member, thread, "My own words are never unread")
    say(staff, thread, "First")
    say(staff, thread, "Second")
    say(staff, world.threads["acme_matter_thread"], "About the lease")
    client.force_login(member)

    page = body(client.get(reverse("frontend:threads")))
    assert badge(page, thread) == 2
    assert badge(page, world.threads["acme_matter_thread"]) == 1

    # Sending marks the thread read up to one's own message.
    say(member, thread, "Thanks")
    page = body(client.get(reverse("frontend:threads")))
    assert badge(page, thread) == 0
    say(staff, thread, "Welcome")
    page = body(client.get(reverse("frontend:threads")))
    assert badge(page, thread) == 1
    messaging.read_mark(actor=member, thread_id=thread.public_id, seq=thread.last_seq + 10)
    page = body(client.get(reverse("frontend:threads")))
    assert badge(page, thread) == 0


def badge(page: str, thread: Thread) -> int:
    match = re.search(
        rf'data-thread="{thread.public_id}".*?<span class="unread-badge" data-unread( hidden)?>'
        r"<span data-count>(\d+)</span>",
        page,
        re.S,
    )
    assert match, f"no badge for {thread.title}"
    count = int(match.group(2))
    assert (match.group(1) is not None) is (count == 0)
    return count


def test_thread_page_starts_with_the_newest_messages(client, world):
    staff = world.people["staff_on_team"]
    thread = world.threads["acme_general"]
    for n in range(1, 56):
        say(staff, thread, f"Message {n}")
    thread.refresh_from_db()
    client.force_login(world.people["client_member"])
    data = chat_data(client.get(thread_url(thread)))
    bodies = [event["message"]["body"] for event in data["events"]]
    assert bodies == [f"Message {n}" for n in range(6, 56)]
    assert [event["seq"] for event in data["events"]] == list(range(6, 56))
    assert data["hasMore"] is True
    assert data["lastSeq"] == thread.last_seq == 55
    assert data["lastReadSeq"] == 0


def test_message_text_never_reaches_the_page_as_markup(client, world):
    thread = world.threads["acme_general"]
    say(world.people["staff_on_team"], thread, f"{XSS} </script><script>alert(2)</script>")
    client.force_login(world.people["client_member"])
    response = client.get(thread_url(thread))
    assert XSS not in body(response)
    assert "<script>alert(2)" not in body(response)
    event = chat_data(response)["events"][-1]
    assert event["message"]["body"] == f"{XSS} </script><script>alert(2)</script>"


def test_deleted_messages_carry_no_text(client, world):
    staff = world.people["staff_on_team"]
    thread = world.threads["acme_general"]
    say(staff, thread, "Regrettable words")
    message = thread.messages.get()
    messaging.message_delete(actor=staff, message_id=message.public_id)
    client.force_login(world.people["client_member"])
    response = client.get(thread_url(thread))
    assert "Regrettable words" not in body(response)
    assert chat_data(response)["events"][-1]["message"]["deleted"] is True


# --- links to threads -----------------------------------------------------------------------


def test_nav_has_a_messages_link(client, world):
    client.force_login(world.people["client_member"])
    page = body(client.get(reverse("frontend:home")))
    assert f'href="{reverse("frontend:threads")}"' in page
    assert ">Messages</a>" in page


def test_client_home_links_to_unread_threads_with_their_counts(client, world):
    say(world.people["staff_on_team"], world.threads["acme_general"], "Hello Acme")
    client.force_login(world.people["client_member"])
    page = body(client.get(reverse("frontend:home")))
    assert thread_url(world.threads["acme_general"]) in page
    # What's new only: a conversation read to the end is on the account page.
    assert thread_url(world.threads["acme_matter_thread"]) not in page
    assert thread_url(world.threads["privileged_granted"]) not in page
    assert '<span class="unread-badge">1<span class="visually-hidden"> unread</span>' in page
    assert reverse("frontend:account", args=[world.acme.public_id]) in page


def test_staff_home_links_to_threads(client, world):
    say(world.people["client_member"], world.threads["acme_general"], "A question")
    client.force_login(world.people["staff_on_team"])
    page = body(client.get(reverse("frontend:home")))
    assert thread_url(world.threads["acme_general"]) in page
    assert thread_url(world.threads["globex_general"]) not in page
    assert '<span class="unread-badge">1<span class="visually-hidden"> unread</span>' in page


def test_account_page_lists_its_threads(client, world):
    client.force_login(world.people["client_admin"])
    page = body(client.get(reverse("frontend:account", args=[world.acme.public_id])))
    for case in ("acme_general", "acme_matter_thread", "privileged_granted"):
        assert thread_url(world.threads[case]) in page
    assert thread_url(world.threads["privileged_not_granted"]) not in page
    assert thread_url(world.threads["globex_general"]) not in page
    # Clients do not open threads.
    assert reverse("frontend:thread_create", args=[world.acme.public_id]) not in page


def test_account_page_summarises_only_its_own_threads(
    client, world, monkeypatch, django_assert_num_queries
):
    """The firm admin may read every account's threads; Acme's page summarises Acme's alone,
    in as many queries however many threads other accounts hold."""
    from messaging import selectors as thread_selectors

    admin = world.people["firm_admin"]
    client.force_login(admin)
    url = reverse("frontend:account", args=[world.acme.public_id])
    client.get(url)  # warm the caches (content types)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(10):
        thread = messaging.thread_create(actor=None, account=world.globex, title=f"Customs {n}")
        messaging.message_store(
            actor=world.people["other_client"], thread=thread, client_id=uuid.uuid4(), body="Hi"
        )
    everything = thread_selectors.thread_summaries(admin)
    acme_threads = [s for s in everything if s["account"]["id"] == world.acme.public_id]
    summarised = []
    original = thread_selectors._summary

    def counted(thread):
        summarised.append(thread.account_id)
        return original(thread)

    monkeypatch.setattr(thread_selectors, "_summary", counted)
    with django_assert_num_queries(len(few)):
        page = body(client.get(url))
    assert len(summarised) == len(acme_threads) == 2
    assert set(summarised) == {world.acme.pk}
    for summary in acme_threads:
        assert thread_url(summary["id"]) in page


def test_account_page_offers_the_team_a_new_thread(client, world):
    client.force_login(world.people["staff_on_team"])
    page = body(client.get(reverse("frontend:account", args=[world.acme.public_id])))
    assert reverse("frontend:thread_create", args=[world.acme.public_id]) in page
    assert 'name="title"' in page
    assert f'<option value="{world.matter.public_id}">Harbour lease renewal</option>' in page
    assert 'name="privileged"' in page


def test_matter_page_lists_the_threads_of_the_matter(client, world):
    client.force_login(world.people["client_member"])
    page = body(client.get(reverse("frontend:matter", args=[world.matter.public_id])))
    assert thread_url(world.threads["acme_matter_thread"]) in page
    assert thread_url(world.threads["acme_general"]) not in page
    assert "Start a conversation about this matter" not in page


def test_matter_page_leads_the_team_to_a_thread_about_it(client, world):
    client.force_login(world.people["staff_on_team"])
    page = body(client.get(reverse("frontend:matter", args=[world.matter.public_id])))
    link = (
        reverse("frontend:account", args=[world.acme.public_id])
        + f"?matter={world.matter.public_id}#conversations"
    )
    assert f'href="{link}"' in page
    page = body(client.get(link.split("#")[0]))
    assert f'<option value="{world.matter.public_id}" selected>' in page
    assert '<details class="add" open>' in page


# --- opening a thread -----------------------------------------------------------------------


def create(client, account, **data):
    return client.post(reverse("frontend:thread_create", args=[account.public_id]), data)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_a_thread(client, world, role):
    client.force_login(world.people[role])
    before = Thread.objects.count()
    response = create(client, world.acme, title="Quarterly review")
    if role in ACME_OPENERS:
        thread = Thread.objects.get(title="Quarterly review")
        assert response.status_code == 302
        assert response["Location"] == thread_url(thread)
        assert thread.account == world.acme
        assert thread.created_by == world.people[role]
        assert not thread.privileged
        assert client.get(response["Location"]).status_code == 200
    else:
        assert response.status_code == 404
        assert Thread.objects.count() == before


def test_new_thread_about_a_matter(client, world):
    client.force_login(world.people["staff_on_team"])
    response = create(client, world.acme, title="Rent review", matter=world.matter.public_id)
    thread = Thread.objects.get(title="Rent review")
    assert response["Location"] == thread_url(thread)
    assert thread.matter == world.matter
    client.force_login(world.people["client_member"])
    page = body(client.get(reverse("frontend:matter", args=[world.matter.public_id])))
    assert thread_url(thread) in page


def test_privileged_thread_is_seen_only_by_its_grantees(client, world):
    staff = world.people["staff_on_team"]
    client.force_login(staff)
    create(client, world.acme, title="Strategy", privileged="on")
    thread = Thread.objects.get(title="Strategy")
    assert thread.privileged
    assert client.get(thread_url(thread)).status_code == 200
    for role in ("client_admin", "client_member", "firm_admin"):
        client.force_login(world.people[role])
        assert client.get(thread_url(thread)).status_code == 404, role


def test_thread_of_a_privileged_matter_is_privileged(client, world):
    client.force_login(world.people["staff_on_team"])
    create(client, world.acme, title="Deal room", matter=world.secret_matter.public_id)
    thread = Thread.objects.get(title="Deal room")
    assert thread.privileged
    client.force_login(world.people["client_admin"])  # granted the matter
    assert client.get(thread_url(thread)).status_code == 200
    client.force_login(world.people["client_member"])
    assert client.get(thread_url(thread)).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "   "}, "A conversation needs a title."),
        ({"title": ""}, "A conversation needs a title."),
        ({"title": "x" * 201}, "A conversation needs a title."),
        ({"title": "Elsewhere", "matter": "mat_" + "a" * 24}, "Choose a matter"),
    ],
)
def test_invalid_new_threads_are_refused(client, world, data, message):
    client.force_login(world.people["staff_on_team"])
    before = Thread.objects.count()
    response = create(client, world.acme, **data)
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:account", args=[world.acme.public_id])
    assert Thread.objects.count() == before
    shown = body(client.get(response["Location"]))
    assert message in shown


def test_matter_of_another_account_is_refused(client, world):
    client.force_login(world.people["firm_admin"])
    globex_matter = factories.matter(world.globex, title="Globex audit")
    before = Thread.objects.count()
    response = create(client, world.acme, title="Mixed up", matter=globex_matter.public_id)
    assert response.status_code == 302
    assert Thread.objects.count() == before


def test_ungranted_privileged_matter_is_not_offered_or_accepted(client, world):
    hidden = factories.matter(world.acme, privileged=True, title="Hidden matter")
    client.force_login(world.people["staff_on_team"])
    page = body(client.get(reverse("frontend:account", args=[world.acme.public_id])))
    assert "Hidden matter" not in page
    before = Thread.objects.count()
    create(client, world.acme, title="Sneaky", matter=hidden.public_id)
    assert Thread.objects.count() == before


def test_creating_needs_post_and_a_known_account(client, world):
    client.force_login(world.people["firm_admin"])
    url = reverse("frontend:thread_create", args=[world.acme.public_id])
    assert client.get(url).status_code == 405
    missing = reverse("frontend:thread_create", args=["acc_" + "a" * 24])
    assert client.post(missing, {"title": "Nowhere"}).status_code == 404


def test_anonymous_cannot_create(client, world):
    response = create(client, world.acme, title="Drive-by")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")
    assert not Thread.objects.filter(title="Drive-by").exists()


# --- cost ---------------------------------------------------------------------------------


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["thread", "threads", "home", "account"])
def test_query_count_does_not_grow_with_threads(client, world, page):
    staff = world.people["staff_on_team"]
    thread = world.threads["acme_general"]
    say(world.people["client_member"], thread, "Hello")
    url = {
        "thread": thread_url(thread),
        "threads": reverse("frontend:threads"),
        "home": reverse("frontend:home"),
        "account": reverse("frontend:account", args=[world.acme.public_id]),
    }[page]
    client.force_login(staff)
    client.get(url)  # warm caches (content types, firm)
    few = queries_for(client, url)
    for n in range(15):
        extra = messaging.thread_create(actor=staff, account=world.acme, title=f"Topic {n}")
        say(world.people["client_member"], extra, f"Question {n}")
    many = queries_for(client, url)
    assert many == few


# --- presence and muting on the thread page ---------------------------------------------------


def test_thread_page_shows_the_mute_state_of_the_viewer(client, world):
    from messaging.models import ThreadMute

    thread = world.threads["acme_general"]
    member = world.people["client_member"]
    ThreadMute.objects.create(user=world.people["client_admin"], thread=thread)
    client.force_login(member)
    response = client.get(thread_url(thread))
    assert not re.search(r"<input[^>]*data-mute[^>]*checked", body(response))
    assert chat_data(response)["muted"] is False

    ThreadMute.objects.create(user=member, thread=thread)
    response = client.get(thread_url(thread))
    assert re.search(r"<input[^>]*data-mute[^>]*checked", body(response))
    assert chat_data(response)["muted"] is True
    assert "Mute e-mail about this conversation" in body(response)


def test_people_here_are_those_who_may_read_the_thread(client, world):
    people = world.people
    client.force_login(people["staff_on_team"])
    page = body(client.get(thread_url(world.threads["privileged_granted"])))
    listed = set(re.findall(r'data-presence-user="([^"]+)"', page))
    assert listed == {people["staff_on_team"].public_id, people["client_admin"].public_id}

    page = body(client.get(thread_url(world.threads["acme_general"])))
    listed = set(re.findall(r'data-presence-user="([^"]+)"', page))
    assert people["client_member"].public_id in listed
    assert people["other_client"].public_id not in listed
    assert people["staff_off_team"].public_id not in listed


def renderer_urls(response) -> list[str]:
    match = re.search(
        r'<script id="timeline-renderers" type="application/json">(.*?)</script>',
        body(response),
        re.S,
    )
    assert match, "the page names its renderer modules"
    return json.loads(match.group(1))


def test_thread_page_names_the_renderer_module_of_every_declared_type(client, world):
    declared = timeline.EventType("test.card", renderer="tests/js/card.js")
    timeline.register(declared)
    try:
        client.force_login(world.people["client_member"])
        urls = renderer_urls(client.get(thread_url(world.threads["acme_general"])))
    finally:
        timeline.unregister(declared)
    assert urls == [
        "/static/approvals/js/signatures.js",
        "/static/approvals/js/timeline.js",
        "/static/billing/js/timeline.js",
        "/static/messaging/js/matter_status.js",
        "/static/projects/js/timeline.js",
        "/static/support/js/timeline.js",
        "/static/tests/js/card.js",
        "/static/vault/js/timeline.js",
    ]


def test_renderer_modules_exist_and_export_their_renderers():
    for declared in timeline.event_types():
        if declared.renderer is None:
            continue
        found = finders.find(declared.renderer)
        assert found, f"{declared.type}: no static file {declared.renderer}"
        source = Path(found).read_text()
        assert "export const renderers" in source
        assert f'"{declared.type}"' in source
        # A renderer is handed what it needs (notices.js's kit): it imports nothing, so no
        # app's module depends on another's.
        assert not re.search(r"^\s*import\b", source, re.M), declared.renderer


def test_renderer_urls_are_the_hashed_names_in_production(client, world, settings, tmp_path):
    """With the manifest storage, the page names each module by its hashed file, as it does
    its own scripts."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "config.staticfiles.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    client.force_login(world.people["client_member"])
    urls = renderer_urls(client.get(thread_url(world.threads["acme_general"])))
    assert [re.sub(r"\.[0-9a-f]{12}\.js$", ".js", url) for url in urls] == [
        "/static/approvals/js/signatures.js",
        "/static/approvals/js/timeline.js",
        "/static/billing/js/timeline.js",
        "/static/messaging/js/matter_status.js",
        "/static/projects/js/timeline.js",
        "/static/support/js/timeline.js",
        "/static/vault/js/timeline.js",
    ]
    assert all(re.search(r"\.[0-9a-f]{12}\.js$", url) for url in urls), urls
    for url in urls:
        assert (tmp_path / "static" / url.removeprefix("/static/")).is_file()
