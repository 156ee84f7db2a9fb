"""The client's home as their status page, the staff preview of it, and ticking a task from
it: what a client reads to know where things stand without asking."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import client_accounts
from accounts.services.firm import firm_get
from approvals.models import ApprovalRequest, Approver
from messaging.services import thread_ensure_general
from projects.models import Change, Milestone, StatusVisit, Task, TaskKind
from projects.selectors.status import MATTERS_SHOWN
from tests import factories
from vault.models import Folder

HOME = reverse("frontend:home")


@pytest.fixture
def plan(acme, people):
    """Acme's "Website relaunch", led by Sam: a milestone with a task for Morgan (a client
    member) and one for "the client", and a task for Sam."""
    return factories.website_plan(
        acme,
        lead=people["staff_on_team"],
        member=people["client_member"],
        due=timezone.localdate() + dt.timedelta(days=30),
    )


def tick_url(task) -> str:
    return reverse("frontend:task_tick", args=[task.public_id])


def preview_url(account, person) -> str:
    return reverse("frontend:status_preview", args=[account.public_id, person.public_id])


def main_of(html: str) -> str:
    return html[html.index('<main id="main"') : html.index("</main>")]


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_where_we_are_what_waits_and_who_serves(client, plan, people, acme):
    later = Milestone.objects.create(
        matter=plan.matter, title="Launch", due=dt.date(2030, 3, 1), position=1
    )
    plan.design.due = dt.date(2030, 1, 15)
    plan.design.save(update_fields=["due"])
    Task.objects.create(matter=plan.matter, milestone=later, title="Go live", position=3)
    Task.objects.filter(pk=plan.team.pk).update(done_at=timezone.now())
    client_accounts.team_assign(
        actor=None, account=acme, user=people["staff_on_team"], title="Producer", lead=True
    )
    client.force_login(people["client_member"])
    html = client.get(HOME).content.decode()

    where = section(html, "where-h")
    assert "Website relaunch" in where
    assert re.search(r'<progress class="progress" max="100" value="25"', where)
    assert "<strong>25 %</strong> · 1 of 4 tasks done" in where
    assert "Next milestone: <strong>Design</strong>" in where
    assert "15 Jan 2030" in where

    waiting = section(html, "waiting-you-h")
    assert "Send the logo files" in waiting and "Fill in the brief" in waiting
    assert "Draft the sitemap" not in waiting and "Go live" not in waiting
    assert f'action="{tick_url(plan.mine)}"' in waiting
    assert "Anyone at Acme can do this" in waiting

    team = section(html, "team-h")
    assert "Sam Staff" in team and "Account lead" in team and "Producer" in team
    assert "Leads Website relaunch" in team


def test_upload_and_approval_tasks_carry_their_own_action(client, plan, people, acme):
    folder = Folder.objects.create(account=acme, name="Brand assets")
    Task.objects.filter(pk=plan.mine.pk).update(kind=TaskKind.UPLOAD, folder=folder)
    approval = ApprovalRequest.objects.create(
        account=acme,
        thread=thread_ensure_general(acme),
        title="Homepage design",
        policy="all",
        required=1,
        created_by=people["staff_on_team"],
    )
    Approver.objects.create(request=approval, user=people["client_member"], position=0)
    Task.objects.filter(pk=plan.clients.pk).update(kind=TaskKind.APPROVAL, approval=approval)
    client.force_login(people["client_member"])
    waiting = section(client.get(HOME).content.decode(), "waiting-you-h")

    vault = reverse("frontend:vault", args=[acme.public_id])
    assert f'href="{vault}?folder={folder.public_id}"' in waiting
    assert "Upload to “Brand assets”" in waiting
    assert f'href="{reverse("frontend:approval", args=[approval.public_id])}"' in waiting
    assert "Review and approve" in waiting
    # Neither is ticked by hand: the upload or the approval completes it.
    assert tick_url(plan.mine) not in waiting and tick_url(plan.clients) not in waiting

    # Someone else of the account, not among the approvers, is not asked to approve.
    client.force_login(people["client_admin"])
    waiting = section(client.get(HOME).content.decode(), "waiting-you-h")
    assert f'href="{reverse("frontend:approval", args=[approval.public_id])}"' in waiting
    assert "Review and approve" not in waiting
    assert "See the request" in waiting and "Waiting on its approvers" in waiting


def test_overdue_is_said_in_words(client, plan, people):
    Task.objects.filter(pk=plan.mine.pk).update(due=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(people["client_member"])
    html = client.get(HOME).content.decode()
    waiting = section(html, "waiting-you-h")
    assert waiting.index("Send the logo files") < waiting.index("Fill in the brief")
    assert "Overdue" in waiting
    assert "Behind schedule" in section(html, "where-h")


def test_changes_since_the_last_visit(client, plan, people):
    member = people["client_member"]
    client.force_login(member)
    first = section(client.get(HOME).content.decode(), "new-h")
    assert "Latest changes" in first and "You are up to date" in first

    # The visit ended a while ago; then Sam ticked a task.
    StatusVisit.objects.filter(user=member).update(seen_at=timezone.now() - dt.timedelta(days=1))
    Change.objects.create(
        matter=plan.matter,
        actor=people["staff_on_team"],
        kind="task.done",
        summary="Sam Staff ticked “Draft the sitemap”",
    )
    html = client.get(HOME).content.decode()
    new = section(html, "new-h")
    assert "What changed since your last visit" in new
    assert "Sam Staff ticked “Draft the sitemap”" in new


def test_the_firms_word_for_a_matter(client, people, acme):
    firm = firm_get()
    firm.matter_word = "Project"
    firm.save(update_fields=["matter_word"])
    client.force_login(people["client_member"])
    assert "No project is open yet." in client.get(HOME).content.decode()


def test_a_long_list_of_matters_links_to_all_of_them(client, people, acme):
    client.force_login(people["client_member"])
    for i in range(MATTERS_SHOWN):
        factories.matter(acme, title=f"Quiet {i:02}")
    page = client.get(HOME).content.decode()
    assert "All " not in page
    factories.matter(acme, title="One more")
    page = client.get(HOME).content.decode()
    assert page.count('class="status-matter"') == MATTERS_SHOWN
    link = f'href="{reverse("frontend:account", args=[acme.public_id])}#matters-h"'
    assert link in page and f"All {MATTERS_SHOWN + 1} matters" in page
    # The account's page, where the link leads, lists every one of them.
    listed = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert 'id="matters-h"' in listed and "One more" in listed and "Quiet 00" in listed


@pytest.mark.parametrize("viewer", ["client_member", "staff_on_team"])
def test_the_page_costs_the_same_queries_however_big_the_plans(client, people, acme, viewer):
    """The client's home, and the team's preview of it."""
    member = people["client_member"]
    staff = people["staff_on_team"]
    client.force_login(people[viewer])
    url = HOME if viewer == "client_member" else preview_url(acme, member)

    def grow(n: int) -> None:
        for _ in range(n):
            matter = factories.matter(acme)
            matter.owner = staff
            matter.save(update_fields=["owner"])
            for m in range(3):
                milestone = Milestone.objects.create(
                    matter=matter,
                    title=f"M{m}",
                    due=timezone.localdate() + dt.timedelta(days=m),
                    position=m,
                )
                for t in range(3):
                    Task.objects.create(
                        matter=matter,
                        milestone=milestone,
                        title=f"T{t}",
                        assignee=member if t == 0 else None,
                        for_client=t == 1,
                        position=m * 3 + t,
                    )
            Change.objects.create(matter=matter, actor=staff, kind="task.added", summary="added")

    def cost() -> int:
        client.get(url)  # sessions and caches settle
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    grow(1)
    one = cost()
    grow(6)
    assert cost() == one


# --- the staff preview --------------------------------------------------------------------


def test_staff_see_what_the_client_sees_read_only(client, plan, people, acme):
    member = people["client_member"]
    for viewer in ("staff_on_team", "firm_admin"):
        client.force_login(people[viewer])
        response = client.get(preview_url(acme, member))
        assert response.status_code == 200
        main = main_of(response.content.decode())
        assert f"Preview of what {member.name} sees — read only." in main
        assert "Send the logo files" in main and "Fill in the brief" in main
        assert "Draft the sitemap" not in section(main, "waiting-you-h")
        assert "<form" not in main and 'name="done"' not in main
        assert "Their action: mark it done" in main
    # Looking at it is not the client's visit.
    assert not StatusVisit.objects.filter(user=member).exists()


def test_the_preview_is_for_the_accounts_team_about_its_people_only(client, people, acme, globex):
    member = people["client_member"]
    url = preview_url(acme, member)
    for role in ("staff_off_team", "client_admin", "client_member", "other_client"):
        client.force_login(people[role])
        assert client.get(url).status_code == 404, role
    client.force_login(people["staff_on_team"])
    # Someone who is not a client person of this account, or no one at all.
    for person in (people["other_client"], people["staff_on_team"]):
        assert client.get(preview_url(acme, person)).status_code == 404
    assert client.get(url.replace(member.public_id, "usr_missing")).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_the_preview_keeps_a_privileged_matter_from_staff_not_granted(client, people, acme):
    member = people["client_member"]
    factories.matter(acme, title="Board dispute", privileged=True, grants=(member,))
    client.force_login(member)
    where = section(client.get(HOME).content.decode(), "where-h")
    assert "Board dispute" in where and "Privileged" in where
    client.force_login(people["staff_on_team"])
    assert "Board dispute" not in client.get(preview_url(acme, member)).content.decode()


def test_the_account_page_offers_the_preview(client, people, acme):
    client.force_login(people["staff_on_team"])
    html = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert preview_url(acme, people["client_member"]) in html
    client.force_login(people["client_member"])
    html = client.get(reverse("frontend:account", args=[acme.public_id])).content.decode()
    assert "/preview/" not in html


# --- ticking a task -----------------------------------------------------------------------


def test_the_assignee_ticks_and_unticks_their_task(client, plan, people):
    client.force_login(people["client_member"])
    response = client.post(tick_url(plan.mine), {"done": "1", "next": HOME})
    assert response.status_code == 302 and response["Location"] == HOME
    plan.mine.refresh_from_db()
    assert plan.mine.done and plan.mine.done_by == people["client_member"]
    assert "Send the logo files" not in section(client.get(HOME).content.decode(), "waiting-you-h")
    client.post(tick_url(plan.mine), {"done": "0"})
    plan.mine.refresh_from_db()
    assert not plan.mine.done


def test_who_may_tick(client, plan, people):
    cases = [
        ("client_admin", plan.clients, 302),  # the client's task: any of the account's people
        ("client_admin", plan.mine, 403),  # Morgan's own
        ("client_member", plan.team, 403),  # the firm's
        ("staff_on_team", plan.mine, 302),  # the team may tick any
        ("staff_off_team", plan.mine, 404),
        ("other_client", plan.clients, 404),
    ]
    for role, task, status in cases:
        client.force_login(people[role])
        response = client.post(tick_url(task), {"done": "1"})
        assert response.status_code == status, (role, task.title)
        task.refresh_from_db()
        assert task.done is (status == 302), (role, task.title)
        Task.objects.filter(pk=task.pk).update(done_at=None, done_by=None)
    client.logout()
    assert client.post(tick_url(plan.mine), {"done": "1"}).status_code == 302
    plan.mine.refresh_from_db()
    assert not plan.mine.done


def test_a_privileged_matters_task_is_not_found_without_the_grant(client, people, acme):
    secret = factories.matter(acme, privileged=True, grants=(people["client_member"],))
    task = Task.objects.create(matter=secret, title="Sign", for_client=True, position=0)
    client.force_login(people["client_admin"])
    assert client.post(tick_url(task), {"done": "1"}).status_code == 404
    client.force_login(people["client_member"])
    assert client.post(tick_url(task), {"done": "1"}).status_code == 302


def test_bad_input_changes_nothing(client, plan, people):
    client.force_login(people["client_member"])
    for data in ({}, {"done": "yes"}, {"done": "1\x00"}, {"done": "1", "next": "x\x00"}):
        response = client.post(tick_url(plan.mine), data)
        assert response.status_code == 302
        plan.mine.refresh_from_db()
        assert not plan.mine.done, data
    assert client.get(tick_url(plan.mine)).status_code == 405


def test_next_goes_back_to_this_site_only(client, plan, people):
    client.force_login(people["client_member"])
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.post(tick_url(plan.mine), {"done": "0", "next": target})
        assert response["Location"] == HOME, target
    matter = reverse("frontend:matter", args=[plan.matter.public_id])
    assert client.post(tick_url(plan.mine), {"done": "1", "next": matter})["Location"] == matter
