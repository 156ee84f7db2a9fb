"""``/api/v1/`` endpoints of matters' plans: matters, milestones, tasks and checklist
templates (``docs/api.md``, "Projects"). Session-authenticated with CSRF on unsafe methods;
JSON bodies; errors are JSON with stable codes; missing and not visible are the same 404.
The services hold every rule; these views look up, call one and answer."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from accounts import permissions
from accounts.http import account_named, api_endpoint, body_fields
from accounts.selectors import page_limit
from accounts.services.matters import matter_set_status
from projects import services
from projects.selectors import matters as selectors

MATTER_FIELDS = {"title", "description", "start", "target", "owner", "status"}
MATTER_CREATE_FIELDS = {
    "account",
    "title",
    "template",
    "start",
    "description",
    "target",
    "owner",
    "privileged",
}
MILESTONE_FIELDS = {"title", "due", "position"}
TASK_FIELDS = {"title", "milestone", "assignee", "due", "kind", "folder", "approval"}


def _matter_answer(request: HttpRequest, matter, *, status: int = 200) -> JsonResponse:
    detail = selectors.matter_detail(request.user, matter, today=timezone.localdate())
    return JsonResponse(detail, status=status)


@api_endpoint("GET", "POST")
def matters(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _matter_create(request)
    account = account_named(request.user, request.GET.get("account"), where="query")
    page = selectors.matters_page(
        request.user,
        account,
        today=timezone.localdate(),
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse({"account": account.public_id, "matters": page.rows, "next": page.next})


def _matter_create(request: HttpRequest) -> HttpResponse:
    data = body_fields(request, MATTER_CREATE_FIELDS)
    account = account_named(request.user, data.get("account"))
    matter = services.matter_plan_create(
        actor=request.user,
        account=account,
        title=data.get("title"),
        template=data.get("template"),
        start=data.get("start"),
        description=data.get("description", ""),
        privileged=data.get("privileged", False),
        owner=data.get("owner"),
        target=data.get("target"),
    )
    return _matter_answer(request, matter, status=201)


@api_endpoint("GET", "PATCH")
def matter(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    if request.method == "PATCH":
        data = body_fields(request, MATTER_FIELDS, change=True)
        plan = {name: value for name, value in data.items() if name != "status"}
        # All or nothing: a refused status leaves the plan's fields as they were.
        with transaction.atomic():
            if plan:
                found = services.matter_plan_change(actor=request.user, matter=found, fields=plan)
            if "status" in data:
                found = matter_set_status(actor=request.user, matter=found, status=data["status"])
    return _matter_answer(request, found)


@api_endpoint("POST")
def milestones(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    data = body_fields(request, MILESTONE_FIELDS)
    milestone = services.milestone_add(
        actor=request.user,
        matter=found,
        title=data.get("title"),
        due=data.get("due"),
        position=data.get("position"),
    )
    return JsonResponse(
        selectors.milestone_detail(milestone, today=timezone.localdate()), status=201
    )


@api_endpoint("PATCH", "DELETE")
def milestone(request: HttpRequest, milestone_id: str) -> HttpResponse:
    found = services.milestone_for(request.user, milestone_id)
    if request.method == "DELETE":
        services.milestone_delete(actor=request.user, milestone=found)
        return HttpResponse(status=204)
    data = body_fields(request, MILESTONE_FIELDS, change=True)
    changed = services.milestone_change(actor=request.user, milestone=found, fields=data)
    return JsonResponse(selectors.milestone_detail(changed, today=timezone.localdate()))


@api_endpoint("POST")
def tasks(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    data = body_fields(request, TASK_FIELDS)
    task = services.task_add(
        actor=request.user,
        matter=found,
        title=data.get("title"),
        milestone=data.get("milestone"),
        assignee=data.get("assignee"),
        due=data.get("due"),
        kind=data.get("kind", "todo"),
        folder=data.get("folder"),
        approval=data.get("approval"),
    )
    return JsonResponse(selectors.task_detail(task, today=timezone.localdate()), status=201)


@api_endpoint("PATCH", "DELETE")
def task(request: HttpRequest, task_id: str) -> HttpResponse:
    found = services.task_for(request.user, task_id)
    if request.method == "DELETE":
        services.task_delete(actor=request.user, task=found)
        return HttpResponse(status=204)
    data = body_fields(request, TASK_FIELDS | {"done"}, change=True)
    changed = services.task_change(actor=request.user, task=found, fields=data)
    return JsonResponse(selectors.task_detail(changed, today=timezone.localdate()))


@api_endpoint("GET")
def templates(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"templates": selectors.templates_for(request.user)})
