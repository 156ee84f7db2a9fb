"""The demo's plans: the firm's two checklist templates, and Acme's rollout planned from one,
part done, with tasks waiting on Acme (one of them late), as a first look at the status page
and the weekly e-mail should find them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Matter, User
from frontend.management.commands import seed_demo
from projects import digest
from projects.models import ChecklistTemplate, Milestone, Task
from projects.progress import percent

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    settings.PRODUCTION = False
    call_command("seed_demo", stdout=io.StringIO())


def rollout() -> Matter:
    return Matter.objects.get(account__slug="acme", title=seed_demo.PLAN_TITLE)


def test_the_two_templates_are_realistic_and_complete(seeded):
    templates = {t.name: t for t in ChecklistTemplate.objects.all()}
    assert set(templates) == {"12-week SaaS rollout", "Client onboarding"}
    saas = templates["12-week SaaS rollout"]
    assert saas.milestones.count() == 5 and saas.tasks.count() == 17
    assert max(saas.milestones.values_list("offset_days", flat=True)) == 84
    # Both sides have work in each, and uploads name the vault folder they wait in.
    for template in templates.values():
        assert template.tasks.filter(for_client=True).exists()
        assert template.tasks.filter(for_client=False).exists()
        assert not template.tasks.filter(kind="upload", folder_name="").exists()
        assert not template.tasks.filter(milestone__isnull=True).exists()


def test_acmes_rollout_follows_the_template_and_is_part_done(seeded):
    matter = rollout()
    today = timezone.localdate()
    start = today - timezone.timedelta(weeks=seed_demo.PLAN_WEEKS_AGO)
    assert not matter.privileged
    assert matter.start_date == start
    assert matter.target_date == start + timezone.timedelta(days=84)
    assert Milestone.objects.filter(matter=matter).count() == 5
    tasks = Task.objects.filter(matter=matter)
    done = tasks.filter(done_at__isnull=False)
    assert tasks.count() == 17
    assert done.count() == len(seed_demo.PLAN_DONE)
    assert 0 < percent(done.count(), tasks.count()) < 100
    # Done by the people who would have done them, on both sides.
    assert set(done.values_list("done_by__email", flat=True)) == {
        "staff@atrium.test",
        "client@acme.test",
        "member@acme.test",
    }
    # Waiting on Acme: single sign-on (late) and the data export, in its vault folder.
    waiting = tasks.filter(for_client=True, done_at__isnull=True)
    late = waiting.get(title="Connect single sign-on to your identity provider")
    assert late.due < today
    export = waiting.get(title="Export your data from the old system")
    assert export.kind == "upload" and export.folder.name == "Data exports"
    assert export.folder.account_id == matter.account_id
    # The rest of the firm's side is the matter owner's.
    assert matter.owner.email == "staff@atrium.test"
    assert not tasks.filter(for_client=False).exclude(assignee=matter.owner).exists()


def test_seeding_again_changes_no_plan(seeded):
    before = (
        ChecklistTemplate.objects.count(),
        Matter.objects.count(),
        Task.objects.count(),
        Task.objects.filter(done_at__isnull=False).count(),
    )
    call_command("seed_demo", stdout=io.StringIO())
    after = (
        ChecklistTemplate.objects.count(),
        Matter.objects.count(),
        Task.objects.count(),
        Task.objects.filter(done_at__isnull=False).count(),
    )
    assert after == before


def test_alex_s_weekly_e_mail_has_the_rollout_and_nothing_of_initech(seeded, mailoutbox):
    digest.status_digests_send()
    alex = User.objects.get(email="client@acme.test")
    [mail] = [m for m in mailoutbox if m.to == [alex.email]]
    assert seed_demo.PLAN_TITLE in mail.body
    assert "Connect single sign-on to your identity provider" in mail.body
    ines = User.objects.get(email="gc@initech.test")
    for message in mailoutbox:
        assert "Penetrode" not in message.subject + message.body
    # Ines is granted the privileged matter; nothing of it has changed, nothing is sent.
    assert not [m for m in mailoutbox if m.to == [ines.email]]
