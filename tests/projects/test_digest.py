"""The weekly status e-mail: what it says (changes, progress, next milestone, what waits on
the person, links and no attachment), what it never says (anything of a privileged matter,
even to its grantees), who gets it (client users who did not opt out, once a week, not when
there is nothing to say), and how the weekly run is kept queued."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.errors import Invalid
from messaging import subscriptions
from messaging.models import NotificationPreference
from projects import digest, tasks
from projects.models import Change, Milestone, StatusDigest, Task
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC)  # a Monday
API = reverse("messaging_api:my_notifications")
PAGE = reverse("frontend:notification_settings")
SECRET = "Penetrode"


def milestone(matter, title, due, position=0) -> Milestone:
    return Milestone.objects.create(matter=matter, title=title, due=due, position=position)


def task(matter, title, *, milestone=None, done=False, due=None, **whose) -> Task:
    return Task.objects.create(
        matter=matter,
        milestone=milestone,
        title=title,
        due=due,
        done_at=NOW - dt.timedelta(days=2) if done else None,
        position=Task.objects.filter(matter=matter).count(),
        **whose,
    )


def change(matter, summary, *, at=NOW - dt.timedelta(days=1), kind="task.done") -> Change:
    return Change.objects.create(matter=matter, summary=summary, at=at, kind=kind)


def bodies(mail) -> str:
    [(html, _)] = mail.alternatives
    return mail.subject + "\n" + mail.body + "\n" + html


def mails_to(mailoutbox, person):
    return [m for m in mailoutbox if m.to == [person.email]]


@pytest.fixture
def plan(acme, people):
    """Acme's website relaunch: 1 of 4 tasks done, a logo upload waiting on the client, and
    a privileged acquisition granted to Acme's admin, with its own changes and tasks."""
    relaunch = factories.matter(acme, title="Website relaunch")
    design = milestone(relaunch, "Design approved", dt.date(2026, 3, 20), 0)
    milestone(relaunch, "Launch", dt.date(2026, 4, 30), 1)
    task(relaunch, "Kick-off call", milestone=design, done=True)
    task(
        relaunch, "Send the logo files", milestone=design, due=dt.date(2026, 3, 10), for_client=True
    )
    task(relaunch, "Review the wireframes", milestone=design, assignee=people["client_admin"])
    task(relaunch, "Build the pages", assignee=people["staff_on_team"])
    change(relaunch, "Sam Staff ticked “Kick-off call”")
    change(relaunch, "Sam Staff added “Launch”", kind="milestone.added")
    secret = factories.matter(
        acme,
        title=f"Acquisition of {SECRET} Inc.",
        privileged=True,
        grants=(people["client_admin"], people["staff_on_team"]),
    )
    task(secret, f"Sign the {SECRET} NDA", for_client=True)
    change(secret, f"Sam Staff ticked “{SECRET} term sheet”")
    return {"relaunch": relaunch, "secret": secret}


# --- what it says ----------------------------------------------------------------------------


def test_the_digest_sums_up_the_week_with_links_and_no_attachment(plan, people, mailoutbox):
    admin = people["client_admin"]
    assert digest.status_digests_send(now=NOW) >= 1
    [mail] = mails_to(mailoutbox, admin)
    text = bodies(mail)
    assert mail.subject == "Your weekly status: 2 updates and 2 tasks waiting on you"
    assert "Sam Staff ticked “Kick-off call”" in mail.body
    assert "Sam Staff added “Launch”" in mail.body
    # Progress (1 of 4 done) and the next milestone with its date.
    assert "Website relaunch · Acme — 25 % done · next: Design approved, due 20 Mar" in mail.body
    # Waiting on Alex: the client's overdue upload first, then the wireframes assigned to them.
    waiting = mail.body.index("WAITING ON YOU")
    logo = mail.body.index("Send the logo files", waiting)
    wireframes = mail.body.index("Review the wireframes", waiting)
    assert logo < wireframes
    assert "overdue, was due 10 Mar" in mail.body
    # The staff member's task waits on the staff member, not on the client.
    assert "Build the pages" not in text
    matter_url = reverse("frontend:matter", kwargs={"matter_id": plan["relaunch"].public_id})
    assert matter_url in text
    assert reverse("frontend:notification_settings") in text
    assert mail.attachments == []


def test_changes_of_last_week_and_before_the_last_e_mail_are_left_out(plan, people, mailoutbox):
    relaunch = plan["relaunch"]
    change(relaunch, "An old change from last month", at=NOW - dt.timedelta(days=30))
    StatusDigest.objects.create(
        user=people["client_member"], last_sent_at=NOW - dt.timedelta(days=6, hours=12)
    )
    change(relaunch, "Just before the last e-mail", at=NOW - dt.timedelta(days=6, hours=13))
    digest.status_digests_send(now=NOW + dt.timedelta(hours=1))
    admin_mail = bodies(mails_to(mailoutbox, people["client_admin"])[0])
    member_mail = bodies(mails_to(mailoutbox, people["client_member"])[0])
    assert "An old change from last month" not in admin_mail
    assert "Just before the last e-mail" in admin_mail
    assert "Just before the last e-mail" not in member_mail


# --- what it never says --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["client_admin", "client_member"])
def test_privileged_matters_never_reach_the_e_mail(plan, people, mailoutbox, who):
    """The grantee (Alex) is told only that a confidential matter has news; the member not
    granted it is told nothing of it. No title, task or summary in any part of either."""
    person = people[who]
    digest.status_digests_send(now=NOW)
    [mail] = mails_to(mailoutbox, person)
    text = bodies(mail)
    assert SECRET not in text
    assert "Acquisition" not in text
    assert "NDA" not in text
    assert plan["secret"].public_id not in text
    if who == "client_admin":
        assert "A confidential matter has news" in text
    else:
        assert "confidential" not in text.lower()
    # The privileged task waiting on "the client" does not count in the subject either.
    assert "2 tasks waiting on you" in mail.subject or "1 task waiting on you" in mail.subject


def test_a_grantee_with_news_only_in_a_privileged_matter_gets_a_bare_line(acme, people, mailoutbox):
    secret = factories.matter(
        acme, title=f"{SECRET} merger", privileged=True, grants=(people["client_admin"],)
    )
    change(secret, f"Cora ticked “{SECRET} board minutes”")
    digest.status_digests_send(now=NOW)
    [mail] = mailoutbox
    assert mail.to == [people["client_admin"].email]
    assert mail.subject == "Your weekly status: a confidential matter changed"
    assert SECRET not in bodies(mail)


# --- who gets it, and when ---------------------------------------------------------------------


def test_nothing_changed_and_nothing_waits_means_no_e_mail(acme, people, mailoutbox):
    relaunch = factories.matter(acme, title="Website relaunch")
    task(relaunch, "Kick-off call", done=True, for_client=True)
    change(relaunch, "Old news", at=NOW - dt.timedelta(days=8))
    assert digest.status_digests_send(now=NOW) == 0
    assert mailoutbox == []
    # Still counted as this week's: the next run a day later does not look again.
    assert StatusDigest.objects.filter(user=people["client_admin"], last_sent_at=NOW).exists()


def test_only_client_users_with_the_digest_on_get_it_once_a_week(plan, people, mailoutbox):
    digest.status_digest_set(user=people["client_member"], on=False)
    factories.client(plan["relaunch"].account, name="Ivy Inactive", active=False)
    sent = digest.status_digests_send(now=NOW)
    assert sent == 1
    assert [m.to for m in mailoutbox] == [[people["client_admin"].email]]
    # Staff (on the team, admins) are not sent it: the board is theirs.
    assert digest.status_digests_send(now=NOW + dt.timedelta(days=1)) == 0
    assert digest.status_digests_send(now=NOW + dt.timedelta(days=7)) == 1
    assert len(mailoutbox) == 2


def test_a_mail_outage_is_logged_and_the_run_goes_on(plan, people, mailoutbox, monkeypatch):
    def broken(**_kwargs):
        raise OSError("no route to the mail server")

    monkeypatch.setattr(digest, "send_branded_mail", broken)
    assert digest.status_digests_send(now=NOW) == 0


def test_queries_stay_constant_as_matters_and_tasks_grow(acme, people):
    admin = people["client_admin"]

    def grow(n):
        for i in range(n):
            matter = factories.matter(acme)
            step = milestone(matter, "Step", dt.date(2026, 4, 1))
            for j in range(3):
                task(matter, f"Task {j}", milestone=step, for_client=True)
            change(matter, f"Change {i}")

    grow(2)
    with CaptureQueriesContext(connection) as few:
        digest.status_digest_content(admin, since=NOW - dt.timedelta(days=7), now=NOW)
    grow(8)
    with CaptureQueriesContext(connection) as many:
        content = digest.status_digest_content(admin, since=NOW - dt.timedelta(days=7), now=NOW)
    assert len(content.matters) == digest.MATTERS_SHOWN
    assert content.more_matters == 0
    assert len(many) == len(few)


# --- opting out ---------------------------------------------------------------------------------


def test_the_api_shows_and_changes_the_digest_for_client_users(client, people):
    member = people["client_member"]
    client.force_login(member)
    assert client.get(API).json()["status_digest"] is True
    response = client.patch(
        API, json.dumps({"status_digest": False, "mention": "off"}), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status_digest"] is False
    assert not digest.status_digest_enabled(member)
    response = client.patch(
        API, json.dumps({"status_digest": True}), content_type="application/json"
    )
    assert response.json()["status_digest"] is True
    assert digest.status_digest_enabled(member)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"status_digest": "no"}, {"status_digest": "invalid"}),
        ({"status_digest": None, "mention": "off"}, {"status_digest": "invalid"}),
        ({"status_digest": False, "mention": "loud"}, {"mention": "invalid"}),
        (
            {"status_digest": 0, "mention": "loud"},
            {"mention": "invalid", "status_digest": "invalid"},
        ),
    ],
)
def test_bad_input_is_refused_whole(client, people, body, fields):
    member = people["client_member"]
    client.force_login(member)
    response = client.patch(API, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert not NotificationPreference.objects.filter(user=member).exists()
    assert not StatusDigest.objects.filter(user=member).exists()


@pytest.mark.parametrize("who", ["staff_on_team", "firm_admin"])
def test_staff_are_not_offered_the_digest(client, people, who):
    client.force_login(people[who])
    assert "status_digest" not in client.get(API).json()
    response = client.patch(
        API, json.dumps({"status_digest": False}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"status_digest": "unknown_kind"}
    assert "subscription-status_digest" not in client.get(PAGE).content.decode()


def test_the_settings_page_turns_it_off_and_on(client, people):
    member = people["client_member"]
    client.force_login(member)
    page = client.get(PAGE).content.decode()
    assert "Weekly status e-mail" in page
    assert 'name="subscription-status_digest" value="on" checked' in page
    response = client.post(PAGE, {"subscription-status_digest": "off"})
    assert response.status_code == 302
    assert not digest.status_digest_enabled(member)
    assert 'value="off" checked' in client.get(PAGE).content.decode()
    # Saving the other choices without this one leaves it as it is.
    client.post(PAGE, {"channel-mention": "off"})
    assert not digest.status_digest_enabled(member)
    client.post(PAGE, {"subscription-status_digest": "on"})
    assert digest.status_digest_enabled(member)


def test_the_settings_page_refuses_a_bad_value_and_writes_nothing(client, people):
    member = people["client_member"]
    client.force_login(member)
    response = client.post(PAGE, {"subscription-status_digest": "maybe", "channel-mention": "off"})
    assert response.status_code == 400
    assert "Choose one of the options." in response.content.decode()
    assert digest.status_digest_enabled(member)
    assert not NotificationPreference.objects.filter(user=member).exists()


def test_a_subscription_cannot_shadow_a_kind_or_a_key():
    for name in ("mention", "kinds"):
        with pytest.raises(ValueError, match="names a notification kind or a key taken"):
            subscriptions.register(
                subscriptions.Subscription(
                    name=name,
                    label="x",
                    description="x",
                    offered=bool,
                    subscribed=bool,
                    subscribe=print,
                )
            )
    subscriptions.register(digest.SUBSCRIPTION)  # the same again: no change
    with pytest.raises(ValueError, match="already declared"):
        subscriptions.register(
            subscriptions.Subscription(
                name=digest.NAME,
                label="Another",
                description="",
                offered=bool,
                subscribed=bool,
                subscribe=print,
            )
        )
    with pytest.raises(Invalid):
        subscriptions.notifications_set(user=None, changes=[])


# --- scheduling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        # Monday 8:00 in the firm's zone, strictly after.
        (
            "UTC",
            dt.datetime(2026, 3, 16, 7, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC),
        ),
        (
            "UTC",
            dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 23, 8, 0, tzinfo=dt.UTC),
        ),
        (
            "UTC",
            dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 23, 8, 0, tzinfo=dt.UTC),
        ),
        # Across the change to summer time in Paris (29 March 2026): still 8:00 local.
        (
            "Europe/Paris",
            dt.datetime(2026, 3, 24, 0, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC),
        ),
        (
            "Europe/Paris",
            dt.datetime(2026, 3, 20, 0, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC),
        ),
        # A Sunday night in Auckland is already Monday: the same day's 8:00 comes first.
        (
            "Pacific/Auckland",
            dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 15, 19, 0, tzinfo=dt.UTC),
        ),
    ],
)
def test_the_weekly_run_is_monday_at_eight_in_the_firms_zone(settings, zone, after, expected):
    settings.TIME_ZONE = zone
    due = digest.next_weekly_run(after)
    assert due == expected
    local = due.astimezone(zoneinfo.ZoneInfo(zone))
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)


def queued_runs():
    return list(
        DBTaskResult.objects.filter(task_path="projects.tasks.send_status_digests").values_list(
            "run_after", flat=True
        )
    )


def test_the_first_change_queues_the_weekly_run_once(acme, django_capture_on_commit_callbacks):
    relaunch = factories.matter(acme, title="Website relaunch")
    assert queued_runs() == []
    with django_capture_on_commit_callbacks(execute=True):
        change(relaunch, "Sam added “Launch”")
    [due] = queued_runs()
    assert due == digest.next_weekly_run(timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        change(relaunch, "Sam added “Go live”")
    assert len(queued_runs()) == 1


def test_turning_it_on_mends_an_empty_queue_and_never_doubles_it(
    people, django_capture_on_commit_callbacks
):
    member = people["client_member"]
    with django_capture_on_commit_callbacks(execute=True):
        digest.status_digest_set(user=member, on=False)
    assert queued_runs() == []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            digest.status_digest_set(user=member, on=True)
    assert len(queued_runs()) == 1


def test_the_task_sends_then_queues_next_week(plan, people, mailoutbox):
    DBTaskResult.objects.all().delete()
    # Today is far past the plan's changes; what waits on Acme's two people still goes out.
    sent = tasks.send_status_digests.call()
    assert sent == 2
    assert len(mailoutbox) == 2
    [due] = queued_runs()
    assert due == digest.next_weekly_run(timezone.now())
    assert due - timezone.now() <= dt.timedelta(days=7)


# --- from the services that write the changes ---------------------------------------------------


def test_the_services_changes_reach_the_digest_and_privileged_ones_do_not(
    acme, people, mailoutbox, django_capture_on_commit_callbacks
):
    from projects import services

    staff, admin = people["staff_on_team"], people["client_admin"]
    relaunch = factories.matter(acme, title="Website relaunch")
    secret = factories.matter(acme, title=f"{SECRET} deal", privileged=True, grants=(staff, admin))
    with django_capture_on_commit_callbacks(execute=True):
        step = services.milestone_add(
            actor=staff, matter=relaunch, title="Design", due="2030-01-31"
        )
        logo = services.task_add(
            actor=staff,
            matter=relaunch,
            title="Send the logo",
            milestone=step.public_id,
            assignee="client",
        )
        launch = services.milestone_add(
            actor=staff, matter=relaunch, title="Launch", due="2030-03-01"
        )
        services.task_add(
            actor=staff, matter=relaunch, title="Draft the sitemap", milestone=launch.public_id
        )
        services.task_set_done(actor=admin, task=logo, done=True)
        services.task_add(
            actor=staff, matter=secret, title=f"Sign the {SECRET} NDA", assignee=admin.public_id
        )
    # The first change queued the weekly run.
    assert len(queued_runs()) == 1
    digest.status_digests_send()
    [mail] = mails_to(mailoutbox, admin)
    text = bodies(mail)
    assert "ticked “Send the logo”" in mail.body
    assert "Website relaunch · Acme — 50 % done · next: Launch, due 1 Mar" in mail.body
    assert SECRET not in text and "NDA" not in text
    assert "A confidential matter has news" in text


def test_a_suspended_account_s_people_are_told_nothing_of_it(plan, people, mailoutbox):
    from accounts.models import AccountStatus
    from accounts.services import client_accounts

    client_accounts.client_account_set_status(
        actor=people["firm_admin"], account=plan["relaunch"].account, status=AccountStatus.SUSPENDED
    )
    assert digest.status_digests_send(now=NOW) == 0
    assert mailoutbox == []


def test_a_run_goes_through_everyone_in_batches(plan, people, mailoutbox, monkeypatch):
    monkeypatch.setattr(digest, "BATCH", 1)
    assert digest.status_digests_send(now=NOW) == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [people["client_admin"].email, people["client_member"].email]
    )


def test_a_queue_that_refuses_the_run_is_logged_not_raised(monkeypatch, caplog):
    class Refusing:
        def using(self, **_options):
            return self

        def enqueue(self):
            raise ConnectionError("the queue is down")

    monkeypatch.setattr(tasks, "send_status_digests", Refusing())
    tasks.status_digest_schedule(NOW)
    assert "queueing the weekly status digest failed" in caplog.text
    assert queued_runs() == []
