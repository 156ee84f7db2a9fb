"""What a matter's plan puts into threads (``messaging.timeline``).

A change to the plan goes into one thread: the matter's own (its oldest; for a privileged
matter its oldest privileged thread, and nowhere if it has none), else the account's General
thread (``projects.announce``). Every payload carries ``matter`` with the matter's progress
after the change, so an open status page moves its bar from whichever event arrives.
Declared from ``ProjectsConfig.ready()``; drawn in threads by ``RENDERER``.
"""

from __future__ import annotations

from messaging.timeline import EventType, NoticeKind

RENDERER = "projects/js/timeline.js"

# To the task's assignee (or the client's people, for a task of "the client").
TASK = NoticeKind("task", "Task", "changed a task of yours in {thread}")

TASK_ADDED = EventType("task.added", notifies=TASK, renderer=RENDERER)
TASK_CHANGED = EventType("task.changed", notifies=TASK, renderer=RENDERER)
TASK_DONE = EventType("task.done", notifies=TASK, renderer=RENDERER)
TASK_REOPENED = EventType("task.reopened", notifies=TASK, renderer=RENDERER)
MILESTONE_ADDED = EventType("milestone.added", renderer=RENDERER)
MILESTONE_CHANGED = EventType("milestone.changed", renderer=RENDERER)
# The plan itself: dates, owner, description, or a template applied.
PLAN_CHANGED = EventType("matter.plan", renderer=RENDERER)

DECLARATIONS = (
    TASK,
    TASK_ADDED,
    TASK_CHANGED,
    TASK_DONE,
    TASK_REOPENED,
    MILESTONE_ADDED,
    MILESTONE_CHANGED,
    PLAN_CHANGED,
)
