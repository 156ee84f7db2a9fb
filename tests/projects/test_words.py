"""The words the board prints for its rows, made in Python once per value, are exactly what
the template filters they replace printed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from accounts.models import ClientAccount, Matter
from projects.models import Milestone, Task
from projects.progress import Counts
from projects.selectors.board import BoardRow
from projects.selectors.status import MatterStatusRow, WaitingTask
from projects.selectors.words import count_words, day_words, iso_day

# What board.html printed for a row before the words were made in Python.
FILTERS = Template(
    "{{ row.days_late }} day{{ row.days_late|pluralize }} late|"
    "{% if row.overdue_tasks %}{{ row.overdue_tasks }} task{{ row.overdue_tasks|pluralize }}"
    "{% endif %}{% if row.overdue_tasks and row.overdue_milestones %}, {% endif %}"
    "{% if row.overdue_milestones %}{{ row.overdue_milestones }} milestone"
    "{{ row.overdue_milestones|pluralize }}{% endif %}{% if row.past_target %}"
    "{% if row.overdue_tasks or row.overdue_milestones %}, {% endif %}target passed{% endif %}|"
    "{{ row.progress }}|{{ row.counts.done }} of {{ row.counts.total }} task"
    "{{ row.counts.total|pluralize }}|"
    "{% if row.next_milestone %}{{ row.next_milestone.due|date:'Y-m-d' }}|"
    "{{ row.next_milestone.due|date:'j M Y' }}{% else %}|{% endif %}|"
    "{% if row.matter.target_date %}{{ row.matter.target_date|date:'Y-m-d' }}|"
    "{{ row.matter.target_date|date:'j M Y' }}{% else %}|{% endif %}"
)
WORDS = Template(
    "{{ row.late_words }}|{{ row.overdue_words }}|{{ row.progress_words }}|{{ row.tasks_words }}|"
    "{{ row.next_due_iso }}|{{ row.next_due_words }}|{{ row.target_iso }}|{{ row.target_words }}"
)

DAYS = [dt.date(2026, 1, 1), dt.date(2026, 2, 28), dt.date(2024, 2, 29), dt.date(2026, 12, 31)]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("language", ["en-us", "en-gb"])
def test_a_day_reads_as_the_date_filter_prints_it(day, language):
    with translation.override(language):
        printed = Template("{{ d|date:'j M Y' }} {{ d|date:'Y-m-d' }}").render(Context({"d": day}))
        assert f"{day_words(day)} {iso_day(day)}" == printed


@pytest.mark.parametrize("n", [0, 1, 2, 11, 1000])
def test_a_count_is_plural_unless_one(n):
    printed = Template("{{ n }} task{{ n|pluralize }}").render(Context({"n": n}))
    assert count_words(n, "task") == printed


@pytest.mark.parametrize("tasks", [0, 1, 3])
@pytest.mark.parametrize("milestones", [0, 1, 2])
@pytest.mark.parametrize("past_target", [False, True])
@pytest.mark.parametrize("dated", [False, True])
def test_a_board_rows_words_are_what_the_filters_printed(tasks, milestones, past_target, dated):
    matter = Matter(title="M", target_date=dt.date(2026, 3, 1) if dated else None)
    row = BoardRow(
        matter=matter,
        counts=Counts(total=8 + tasks, done=1 if tasks else 0, overdue=tasks),
        next_milestone=Milestone(title="N", due=dt.date(2026, 4, 9)) if dated else None,
        overdue_milestones=milestones,
        days_late=tasks + milestones,
        past_target=past_target,
    )
    context = Context({"row": row})
    assert WORDS.render(context) == FILTERS.render(context)


# What _status_matter.html and _status_task.html printed before.
STATUS_FILTERS = Template(
    "{{ row.progress }}|{{ row.counts.done }} of {{ row.counts.total }} task"
    "{{ row.counts.total|pluralize }}|"
    "{% if row.matter.target_date %}{{ row.matter.target_date|date:'Y-m-d' }}|"
    "{{ row.matter.target_date|date:'j M Y' }}{% else %}|{% endif %}|"
    "{% if row.next_milestone %}{{ row.next_milestone.due|date:'Y-m-d' }}|"
    "{{ row.next_milestone.due|date:'j M Y' }}{% else %}|{% endif %}"
)
STATUS_WORDS = Template(
    "{{ row.progress_words }}|{{ row.tasks_words }}|{{ row.target_iso }}|{{ row.target_words }}|"
    "{{ row.next_due_iso }}|{{ row.next_due_words }}"
)
TASK_FILTERS = Template(
    "{{ w.task.due|date:'Y-m-d' }}|{{ w.task.due|date:'j M Y' }}|"
    "{{ 'Anyone at '|add:w.task.matter.account.name|add:' can do this' }}"
)
TASK_WORDS = Template("{{ w.due_iso }}|{{ w.due_words }}|{{ w.anyone_words }}")


@pytest.mark.parametrize("done", [0, 1, 5])
@pytest.mark.parametrize("dated", [False, True])
def test_a_status_rows_words_are_what_the_filters_printed(done, dated):
    row = MatterStatusRow(
        matter=Matter(title="M", target_date=dt.date(2026, 5, 31) if dated else None),
        counts=Counts(total=max(1, done), done=done, overdue=0),
        next_milestone=Milestone(title="N", due=dt.date(2026, 6, 1)) if dated else None,
        today=dt.date(2026, 5, 1),
    )
    context = Context({"row": row})
    assert STATUS_WORDS.render(context) == STATUS_FILTERS.render(context)


@pytest.mark.parametrize("due", [None, dt.date(2026, 1, 9)])
def test_a_waiting_tasks_words_are_what_the_filters_printed(due):
    account = ClientAccount(name="Acme & Sons")
    task = Task(title="T", due=due, matter=Matter(title="M", account=account))
    context = Context({"w": WaitingTask(task=task, today=dt.date(2026, 5, 1))})
    assert TASK_WORDS.render(context) == TASK_FILTERS.render(context)
