"""The forms the account team edits a matter's milestones and tasks with, and the tick of a
task by whoever may tick it. Milestones and tasks have an edit page each; every other form
is on the matter's page, which comes back with status 400 and the error at its field when
the input is bad. A missing milestone or task and one the person may not see are both 404,
one they may see but not change is 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.models import User
from frontend import plan_forms
from frontend.views.matters import (
    add_errors,
    matter_or_404,
    render_matter,
    require_change,
    to_plan,
)
from projects import services as plan_services
from projects.models import Milestone, Task
from projects.selectors import plan as plan_selectors
from projects.selectors.plan import plan_choices


def _milestone_or_404(user: User, public_id: str) -> Milestone:
    try:
        return plan_services.milestone_for(user, public_id)
    except NotFound:
        raise Http404 from None


def _task_or_404(user: User, public_id: str) -> Task:
    try:
        return plan_services.task_for(user, public_id)
    except NotFound:
        raise Http404 from None


@login_required
@require_POST
def milestone_create(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = matter_or_404(request.user, matter_id)
    require_change(request.user, matter)
    form = plan_forms.MilestoneForm(request.POST)
    if form.is_valid():
        try:
            milestone = plan_services.milestone_add(
                actor=request.user, matter=matter, **form.service_fields()
            )
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Milestone “{milestone.title}” added.")
            return to_plan(matter, "timeline")
    return render_matter(request, matter, status=400, milestone_form=form)


def _confirm(request: HttpRequest, *, title: str, text: str, button: str, back: str):
    """Ask before a deletion: the same form again, with ``confirm``."""
    return render(
        request,
        "frontend/confirm.html",
        {
            "title": title,
            "text": text,
            "button": button,
            "danger": True,
            "fields": [(k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"],
            "back": back,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_change(request: HttpRequest, milestone_id: str) -> HttpResponse:
    """GET: the milestone's edit page. POST ``action``: ``edit`` (title, due), ``up`` or
    ``down`` (one place earlier or later in the plan), ``delete`` (asked to confirm; its
    tasks stay, outside any milestone)."""
    milestone = _milestone_or_404(request.user, milestone_id)
    matter = milestone.matter
    require_change(request.user, matter)
    form = plan_forms.MilestoneForm(
        request.POST if request.method == "POST" else None,
        prefix_ids="edit_milestone",
        initial={"title": milestone.title, "due": milestone.due},
    )
    if request.method == "GET":
        return _milestone_page(request, milestone, form)
    action_form = plan_forms.MilestoneActionForm(request.POST)
    if not action_form.is_valid():
        messages.error(request, "That change could not be read.")
        return to_plan(matter, "timeline")
    action = action_form.cleaned_data["action"]
    try:
        if action == "delete":
            if not action_form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Delete the milestone “{milestone.title}”?",
                    text="Its tasks stay in the plan, outside any milestone.",
                    button="Delete the milestone",
                    back=reverse("frontend:milestone_change", args=[milestone.public_id]),
                )
            plan_services.milestone_delete(actor=request.user, milestone=milestone)
            messages.success(request, f"Milestone “{milestone.title}” deleted.")
            return to_plan(matter, "timeline")
        if action in ("up", "down"):
            plan_services.milestone_move(
                actor=request.user, milestone=milestone, step=-1 if action == "up" else 1
            )
            return to_plan(matter, "milestones")
        if form.is_valid():
            plan_services.milestone_change(
                actor=request.user, milestone=milestone, fields=form.service_fields()
            )
            messages.success(request, "Milestone saved.")
            return to_plan(matter, "timeline")
    except Forbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        if action != "edit":
            messages.error(request, error.message)
            return to_plan(matter, "milestones")
        add_errors(form, error)
    return _milestone_page(request, milestone, form, status=400)


def _milestone_page(request, milestone: Milestone, form, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "frontend/milestone_edit.html",
        {"milestone": milestone, "matter": milestone.matter, "form": form},
        status=status,
    )


@login_required
@require_POST
def task_create(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = matter_or_404(request.user, matter_id)
    require_change(request.user, matter)
    plan = plan_selectors.matter_plan(matter, today=timezone.localdate())
    form = plan_forms.TaskForm(request.POST, plan=plan, choices=plan_choices(request.user, matter))
    if form.is_valid():
        try:
            task = plan_services.task_add(
                actor=request.user, matter=matter, **form.service_fields()
            )
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Task “{task.title}” added.")
            return to_plan(matter, "tasks")
    return render_matter(request, matter, status=400, task_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def task_change(request: HttpRequest, task_id: str) -> HttpResponse:
    """GET: the task's edit page (the account team's). POST ``action``: ``done`` with
    ``done`` = "1" or "0" (whoever may tick it), ``edit`` (every field), ``delete`` (asked to
    confirm)."""
    task = _task_or_404(request.user, task_id)
    matter = task.matter
    action_form = plan_forms.TaskActionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and action_form.is_valid():
        action = action_form.cleaned_data["action"]
    else:
        action = None
    if action == "done":
        done = action_form.cleaned_data["done"]
        if not done:
            messages.error(request, "Say whether the task is done.")
            return to_plan(matter, "tasks")
        try:
            plan_services.task_set_done(actor=request.user, task=task, done=done == "1")
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"“{task.title}” is done." if done == "1" else f"“{task.title}” is open again.",
            )
        return to_plan(matter, f"task-{task.public_id}")
    if request.method == "POST" and action is None:
        messages.error(request, "That change could not be read.")
        return to_plan(matter, "tasks")
    require_change(request.user, matter)
    plan = plan_selectors.matter_plan(matter, today=timezone.localdate())
    form = plan_forms.TaskForm(
        request.POST if action == "edit" else None,
        plan=plan,
        choices=plan_choices(request.user, matter),
        prefix_ids="edit_task",
        initial=plan_forms.task_initial(task),
    )
    if request.method == "GET":
        return _task_page(request, task, form)
    try:
        if action == "delete":
            if not action_form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Delete the task “{task.title}”?",
                    text="It leaves the plan and its progress.",
                    button="Delete the task",
                    back=reverse("frontend:task_change", args=[task.public_id]),
                )
            plan_services.task_delete(actor=request.user, task=task)
            messages.success(request, f"Task “{task.title}” deleted.")
            return to_plan(matter, "tasks")
        if form.is_valid():
            plan_services.task_change(actor=request.user, task=task, fields=form.service_fields())
            messages.success(request, "Task saved.")
            return to_plan(matter, f"task-{task.public_id}")
    except Forbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        add_errors(form, error)
    return _task_page(request, task, form, status=400)


def _task_page(request, task: Task, form, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "frontend/task_edit.html",
        {"task": task, "matter": task.matter, "form": form},
        status=status,
    )
