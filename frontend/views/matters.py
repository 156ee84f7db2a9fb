"""A matter's pages: opening one (from a checklist template if chosen), its page with the
plan's timeline and task list, and the forms the account team edits the plan with.

Every write goes through a service of ``projects.services`` (or ``accounts.services.matters``
for the status and access); a missing object and one the person may not see are both 404, one
they may see but not change is 403. A form sent with bad input shows the page again, with the
error at the field and status 400.
"""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions, selectors
from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.models import Matter, MatterStatus, User
from accounts.permissions import Action, TaskAction
from accounts.services import matters as matter_services
from frontend import forms, plan_forms
from frontend.context_processors import request_vocab
from frontend.plan_timeline import plan_axis
from frontend.views.common import account_or_404
from messaging import selectors as thread_selectors
from projects import services as plan_services
from projects.models import ChecklistTemplate, Milestone, Task
from projects.selectors import plan as plan_selectors
from projects.selectors.plan import MatterPlan, plan_choices

# --- looking things up ----------------------------------------------------------------------


def _matter_or_404(user: User, public_id: str) -> Matter:
    try:
        return permissions.matter_for(user, public_id)
    except NotFound:
        raise Http404 from None


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


def _may_change(user: User, matter: Matter) -> bool:
    return permissions.can_on_item(user, Action.CHANGE, matter)


def _require_change(user: User, matter: Matter) -> None:
    if not _may_change(user, matter):
        raise PermissionDenied


def _add_errors(form: django_forms.Form, error: AtriumError) -> None:
    """The service's refusal at the fields it names, or above the form."""
    named = [field for field in error.fields if field in form.fields]
    if named:
        for field in named:
            form.add_error(field, error.message)
    else:
        form.add_error(None, error.message)


# --- opening a matter -----------------------------------------------------------------------


def new_matter_form(request: HttpRequest, data=None) -> plan_forms.NewMatterForm:
    """The account page's form for a new matter, with the firm's templates to start from
    (firm staff only see them)."""
    templates = (
        list(ChecklistTemplate.objects.order_by("name"))
        if plan_services.templates_visible(request.user)
        else []
    )
    return plan_forms.NewMatterForm(data, templates=templates, vocab=request_vocab(request))


@login_required
@require_POST
def matter_create(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    form = new_matter_form(request, request.POST)
    back = redirect("frontend:account", account_id=account.public_id)
    if not form.is_valid():
        vocab = request_vocab(request)
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else None
        where = f" ({label})" if label else ""
        messages.error(request, f"The {vocab.matter_lower} was not opened{where}: {errors[0]}")
        return back
    data = form.cleaned_data
    try:
        matter = plan_services.matter_plan_create(
            actor=request.user,
            account=account,
            title=data["title"],
            template=data["template"] or None,
            start=data["start"],
            description=data["description"],
            privileged=data["privileged"],
        )
        if data["status"] != MatterStatus.PLANNED:
            matter_services.matter_set_status(
                actor=request.user, matter=matter, status=data["status"]
            )
    except AtriumError as error:
        messages.error(request, error.message)
        return back
    return redirect("frontend:matter", matter_id=matter.public_id)


# --- the matter page ------------------------------------------------------------------------


def _tickable(user: User, plan: MatterPlan) -> set[int]:
    """The pks of the tasks ``user`` may tick. The permission gate's answer depends only on
    whose a task is (the viewer's, the client's, or someone else's), so it is asked once for
    each of the three, whatever the number of tasks."""
    asked = {
        (mine, for_client): permissions.can_on_task(
            user,
            TaskAction.TICK,
            Task(matter=plan.matter, assignee_id=user.pk if mine else None, for_client=for_client),
        )
        for mine, for_client in ((True, False), (False, True), (False, False))
    }
    return {
        planned.task.pk
        for planned in [t for p in plan.milestones for t in p.tasks] + plan.loose_tasks
        if asked[(planned.task.assignee_id == user.pk, planned.task.for_client)]
    }


def _task_groups(plan: MatterPlan) -> list[dict]:
    groups = [{"milestone": p.milestone, "tasks": p.tasks} for p in plan.milestones]
    if plan.loose_tasks:
        groups.append({"milestone": None, "tasks": plan.loose_tasks})
    return groups


# Addresses of a plan's rows, built from one prefix rather than a reverse() per row.
def _prefix(name: str) -> str:
    return reverse(name, args=["-"])[:-2]


def _render_matter(
    request: HttpRequest, matter: Matter, *, status: int = 200, **bound
) -> HttpResponse:
    user = request.user
    can_change = _may_change(user, matter)
    plan = plan_selectors.matter_plan(matter, today=timezone.localdate())
    people = selectors.matter_people(matter)
    grantable = []
    if matter.privileged and can_change:
        grantable = [u for u in selectors.account_people(matter.account) if u not in people]
    threads = [
        t
        for t in thread_selectors.thread_summaries(user)
        if t["matter"] and t["matter"]["id"] == matter.public_id
    ]
    context = {
        "matter": matter,
        "plan": plan,
        "axis": plan_axis(plan),
        "task_groups": _task_groups(plan),
        "tickable_ids": _tickable(user, plan),
        "task_base": _prefix("frontend:task_change"),
        "milestone_base": _prefix("frontend:milestone_change"),
        "people": people,
        "grantable": grantable,
        "can_change": can_change,
        "status_form": forms.MatterStatusForm(initial={"status": matter.status}),
        "threads": threads,
    }
    if bound:
        # The form is far down the page: the message at its top says where to look.
        messages.error(request, "Nothing was saved: see the form below.")
    if can_change:
        choices = plan_choices(user, matter)
        context["plan_form"] = bound.get("plan_form") or plan_forms.PlanForm(
            team=choices.team,
            initial={
                "title": matter.title,
                "description": matter.description,
                "start": matter.start_date,
                "target": matter.target_date,
                "owner": matter.owner.public_id if matter.owner_id else "",
            },
        )
        context["milestone_form"] = bound.get("milestone_form") or plan_forms.MilestoneForm()
        context["task_form"] = bound.get("task_form") or plan_forms.TaskForm(
            plan=plan, choices=choices
        )
        context["open_form"] = next(iter(bound), "")
    return render(request, "frontend/matter.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def matter_page(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    if request.method == "POST":
        form = forms.MatterStatusForm(request.POST)
        if form.is_valid():
            try:
                matter_services.matter_set_status(
                    actor=request.user, matter=matter, status=form.cleaned_data["status"]
                )
            except AtriumError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Status set to {matter.get_status_display()}.")
        else:
            messages.error(request, "Choose one of the listed statuses.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    return _render_matter(request, matter)


@login_required
@require_POST
def matter_access(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    form = forms.GrantForm(request.POST)
    person = (
        selectors.user_by_public_id(form.cleaned_data["user"], active_only=True)
        if form.is_valid()
        else None
    )
    if person is None:
        messages.error(request, "Choose a person from the list.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    try:
        if form.cleaned_data.get("action") == "revoke":
            matter_services.matter_revoke(actor=request.user, matter=matter, user=person)
            word = request_vocab(request).matter_lower
            messages.success(request, f"{person.name} no longer sees this {word}.")
        else:
            matter_services.matter_grant(actor=request.user, matter=matter, user=person)
            word = request_vocab(request).matter_lower
            messages.success(request, f"{person.name} can now see this {word}.")
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
    return redirect("frontend:matter", matter_id=matter.public_id)


# --- the plan: dates and owner, milestones, tasks -------------------------------------------


def _to_plan(matter: Matter, anchor: str = "") -> HttpResponse:
    url = reverse("frontend:matter", args=[matter.public_id])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_POST
def matter_plan(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    _require_change(request.user, matter)
    form = plan_forms.PlanForm(request.POST, team=plan_choices(request.user, matter).team)
    if form.is_valid():
        try:
            plan_services.matter_plan_change(
                actor=request.user, matter=matter, fields=form.service_fields()
            )
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Plan saved.")
            return _to_plan(matter, "plan")
    return _render_matter(request, matter, status=400, plan_form=form)


@login_required
@require_POST
def milestone_create(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    _require_change(request.user, matter)
    form = plan_forms.MilestoneForm(request.POST)
    if form.is_valid():
        try:
            milestone = plan_services.milestone_add(
                actor=request.user, matter=matter, **form.service_fields()
            )
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Milestone “{milestone.title}” added.")
            return _to_plan(matter, "timeline")
    return _render_matter(request, matter, status=400, milestone_form=form)


class MilestoneActionForm(django_forms.Form):
    action = django_forms.ChoiceField(
        choices=[("edit", "Save"), ("up", "Earlier"), ("down", "Later"), ("delete", "Delete")]
    )
    confirm = django_forms.BooleanField(required=False)


def _moved_position(milestone: Milestone, step: int) -> int | None:
    """Where the milestone lands one place earlier (-1) or later (+1) in the plan's order,
    or None at that end already."""
    order = list(
        Milestone.objects.filter(matter_id=milestone.matter_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    target = order.index(milestone.pk) + step
    return target if 0 <= target < len(order) else None


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
    _require_change(request.user, matter)
    form = plan_forms.MilestoneForm(
        request.POST if request.method == "POST" else None,
        prefix_ids="edit_milestone",
        initial={"title": milestone.title, "due": milestone.due},
    )
    if request.method == "GET":
        return _milestone_page(request, milestone, form)
    action_form = MilestoneActionForm(request.POST)
    if not action_form.is_valid():
        messages.error(request, "That change could not be read.")
        return _to_plan(matter, "timeline")
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
            return _to_plan(matter, "timeline")
        if action in ("up", "down"):
            position = _moved_position(milestone, -1 if action == "up" else 1)
            if position is not None:
                plan_services.milestone_change(
                    actor=request.user, milestone=milestone, fields={"position": position}
                )
            return _to_plan(matter, "milestones")
        if form.is_valid():
            plan_services.milestone_change(
                actor=request.user, milestone=milestone, fields=form.service_fields()
            )
            messages.success(request, "Milestone saved.")
            return _to_plan(matter, "timeline")
    except Forbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        if action != "edit":
            messages.error(request, error.message)
            return _to_plan(matter, "milestones")
        _add_errors(form, error)
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
    matter = _matter_or_404(request.user, matter_id)
    _require_change(request.user, matter)
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
            _add_errors(form, error)
        else:
            messages.success(request, f"Task “{task.title}” added.")
            return _to_plan(matter, "tasks")
    return _render_matter(request, matter, status=400, task_form=form)


class TaskActionForm(django_forms.Form):
    action = django_forms.ChoiceField(
        choices=[("edit", "Save"), ("done", "Done or not"), ("delete", "Delete")]
    )
    # For ``done``: "1" marks the task done, "0" not done.
    done = django_forms.ChoiceField(choices=[("1", "Done"), ("0", "Not done")], required=False)
    confirm = django_forms.BooleanField(required=False)


@login_required
@require_http_methods(["GET", "POST"])
def task_change(request: HttpRequest, task_id: str) -> HttpResponse:
    """GET: the task's edit page (the account team's). POST ``action``: ``done`` with
    ``done`` = "1" or "0" (whoever may tick it), ``edit`` (every field), ``delete`` (asked to
    confirm)."""
    task = _task_or_404(request.user, task_id)
    matter = task.matter
    action_form = TaskActionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and action_form.is_valid():
        action = action_form.cleaned_data["action"]
    else:
        action = None
    if action == "done":
        done = action_form.cleaned_data["done"]
        if not done:
            messages.error(request, "Say whether the task is done.")
            return _to_plan(matter, "tasks")
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
        return _to_plan(matter, f"task-{task.public_id}")
    if request.method == "POST" and action is None:
        messages.error(request, "That change could not be read.")
        return _to_plan(matter, "tasks")
    _require_change(request.user, matter)
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
            return _to_plan(matter, "tasks")
        if form.is_valid():
            plan_services.task_change(actor=request.user, task=task, fields=form.service_fields())
            messages.success(request, "Task saved.")
            return _to_plan(matter, f"task-{task.public_id}")
    except Forbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        _add_errors(form, error)
    return _task_page(request, task, form, status=400)


def _task_page(request, task: Task, form, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "frontend/task_edit.html",
        {"task": task, "matter": task.matter, "form": form},
        status=status,
    )
