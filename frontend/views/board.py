"""The firm's own pages for the work: the board of every client's matters, what is late
first, and the checklist templates matters start from (firm admins)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Invalid, NotFound
from accounts.http import refuse_nul
from accounts.models import ClientAccount
from frontend.checklist_forms import MILESTONES, TASKS, TemplateEditor
from frontend.templatetags.ui import avatar, chip_html, icon_html
from projects import services as project_services
from projects.models import MAX_OFFSET_DAYS, ChecklistTemplate
from projects.selectors.board import board_page
from projects.selectors.json import template_json
from projects.selectors.template_list import templates_page

# Matters shown on one page of the board; "More" carries on after the last one shown.
BOARD_PAGE = 50


def _staff_or_404(request: HttpRequest) -> None:
    if not request.user.is_firm_staff:
        raise Http404


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Every matter of the clients the staff member serves, the latest first; filtered by
    client (``account``) and to the matters they own (``mine``). Firm staff only."""
    _staff_or_404(request)
    user = request.user
    account_id = request.GET.get("account", "")
    account: ClientAccount | None = None
    if account_id:
        try:
            account = permissions.account_for(user, account_id)
        except NotFound:
            raise Http404 from None
    mine = request.GET.get("mine") == "1"
    # The accounts the person serves, read once: the filter's choices, and the board's scope.
    visible = permissions.visible_accounts(user)
    chosen = {
        "today": timezone.localdate(),
        "account": account,
        "owner": user if mine else None,
        "accounts": visible,
    }
    page = board_page(user, cursor=request.GET.get("cursor", ""), size=BOARD_PAGE, **chosen)
    if page is None:
        messages.error(request, "That link to more of the board is not valid; here is its start.")
        page = board_page(user, size=BOARD_PAGE, **chosen)
    filters = {k: v for k, v in (("account", account_id), ("mine", "1" if mine else "")) if v}
    more = f"?{urlencode({**filters, 'cursor': page.next})}" if page.next else ""
    # Each owner's avatar is made once and shared by the rows of that owner (most rows of a
    # board are the same few people's).
    avatars = {
        row.owner.pk: avatar(row.owner, size="sm") for row in page.rows if row.owner is not None
    }
    return render(
        request,
        "frontend/board.html",
        {
            "page": page,
            "rows": [(row, avatars.get(row.matter.owner_id, "")) for row in page.rows],
            "account": account,
            "mine": mine,
            "accounts": visible.accounts,
            "filtered": bool(filters),
            "more": more,
            # Rows link to their matter and client after these prefixes (no reverse per row).
            "matter_url": reverse("frontend:matter", args=["mat_"]).split("mat_")[0],
            "account_url": reverse("frontend:account", args=["acc_"]).split("acc_")[0],
            # The same markup on many rows, made once.
            "alert_icon": icon_html("alert"),
            "on_time": chip_html("ok", "On time"),
        },
    )


# --- checklist templates (firm admins) ----------------------------------------------------------


def _firm_admin_or_404(request: HttpRequest) -> None:
    if not permissions.can_manage_firm(request.user):
        raise Http404


def _template_or_404(request: HttpRequest, template_id: str) -> ChecklistTemplate:
    _firm_admin_or_404(request)
    try:
        return project_services.template_for(request.user, template_id)
    except NotFound:
        raise Http404 from None


@login_required
@require_GET
def templates_index(request: HttpRequest) -> HttpResponse:
    """The firm's checklist templates, to open, change or delete. Firm admins only."""
    _firm_admin_or_404(request)
    try:
        page = templates_page(request.user, cursor=request.GET.get("cursor"))
    except Invalid:
        messages.error(request, "That link to more of the list is not valid; here is its start.")
        page = templates_page(request.user)
    return render(request, "frontend/templates_list.html", {"page": page})


def _template_form(
    request: HttpRequest, *, template: ChecklistTemplate | None, save
) -> HttpResponse:
    """The template form, shown or sent: "Add rows" shows it again with more blank rows and
    saves nothing; "Save" hands the rows to ``save`` (the service), whose refusal shows on the
    rows it names."""
    initial = template_json(template) if template is not None else None
    status = 200
    if request.method != "POST":
        editor = TemplateEditor(initial=initial)
    else:
        more = request.POST.get("more", "")
        editor = TemplateEditor(request.POST, more=more if more in (MILESTONES, TASKS) else "")
        try:
            refuse_nul(request.POST)
        except Invalid as error:
            editor.non_field_errors.append(error.message)
            status = 400
        else:
            if not more:
                status = 400
                if editor.is_valid():
                    try:
                        saved = save(**editor.cleaned())
                    except AtriumError as error:
                        editor.apply_errors(error)
                    else:
                        messages.success(request, f"“{saved.name}” is saved.")
                        return redirect("frontend:templates")
    return render(
        request,
        "frontend/template_edit.html",
        {"template": template, "form": editor, "max_offset": MAX_OFFSET_DAYS},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    _firm_admin_or_404(request)

    def save(**fields) -> ChecklistTemplate:
        return project_services.template_create(actor=request.user, **fields)

    return _template_form(request, template=None, save=save)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: str) -> HttpResponse:
    template = _template_or_404(request, template_id)

    def save(**fields) -> ChecklistTemplate:
        return project_services.template_change(actor=request.user, template=template, **fields)

    return _template_form(request, template=template, save=save)


@login_required
@require_POST
def template_delete(request: HttpRequest, template_id: str) -> HttpResponse:
    """Delete a template, once confirmed. Matters started from it keep their plans."""
    template = _template_or_404(request, template_id)
    if request.POST.get("confirm") != "on":
        return render(
            request,
            "frontend/confirm.html",
            {
                "title": f"Delete the template “{template.name}”?",
                "text": "It is no longer offered for new work. Matters already started from "
                "it keep their milestones and tasks.",
                "button": "Delete the template",
                "danger": True,
                "fields": [],
                "back": reverse("frontend:template_edit", args=[template.public_id]),
            },
        )
    try:
        project_services.template_delete(actor=request.user, template=template)
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:template_edit", template_id=template.public_id)
    messages.success(request, f"“{template.name}” is deleted.")
    return redirect("frontend:templates")
