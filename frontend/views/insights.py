"""The adoption metrics page (firm admins): the firm's figures over a period, charts with
tables as their data, every account's figures (sortable, a page at a time), the records
behind an account's figures, and the firm's status phrases."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Invalid, NotFound
from accounts.http import refuse_nul
from accounts.selectors import page_limit
from insights import services
from insights.period import period_parse
from insights.selectors import records
from insights.selectors.adoption import (
    ACTIVE_BAR,
    adoption,
    logins_by_day,
    metrics_account,
)
from insights.selectors.phrases import status_phrases

# Rows of the accounts table per page (it is sorted as a whole, then cut).
TABLE_PAGE = 50
SORTABLE = {
    "name": "Client",
    "client_users": "Client users",
    "active_share": "Active in 30 days",
    "logins": "Sign-ins",
    "messages_client": "Client messages",
    "messages_firm": "Firm messages",
    "status_questions_before": "Status questions before",
    "status_questions_after": "Status questions after",
    "median_first_response_hours": "Median first response (h)",
    "median_resolution_hours": "Median resolution (h)",
    "median_task_hours": "Median task (h)",
}
# Accounts by their active share, in tenths (the last one holds 100 %).
SHARE_BUCKETS = 10


def _admin_or_404(request: HttpRequest) -> None:
    # Pages of firm settings answer 404 to everyone else, like the branding page.
    if not permissions.can_manage_firm(request.user):
        raise Http404


def _period(request: HttpRequest):
    """The period asked for, or the default one with the errors to show (a 400)."""
    try:
        refuse_nul(request.GET)
        period = period_parse(
            first=request.GET.get("from"),
            end=request.GET.get("to"),
            since=request.GET.get("since"),
            today=timezone.localdate(),
        )
        return period, {}
    except Invalid as error:
        fallback = period_parse(first=None, end=None, since=None, today=timezone.localdate())
        return fallback, {**error.fields, "message": error.message}


class PhrasesForm(forms.Form):
    phrases = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        label="Status phrases",
        help_text="One per line. A client's message with one of them, as whole words and in "
        "any case, counts as a status question.",
    )


def _share_buckets(rows: list[dict]) -> list[dict]:
    counts = [0] * SHARE_BUCKETS
    for row in rows:
        if row["active_share"] is not None:
            counts[min(SHARE_BUCKETS - 1, int(row["active_share"] * SHARE_BUCKETS))] += 1
    step = 100 // SHARE_BUCKETS
    return [
        {
            "label": f"{n * step} to {n * step + step - (0 if n == SHARE_BUCKETS - 1 else 1)} %",
            "accounts": count,
            "below_bar": (n + 1) * step <= ACTIVE_BAR * 100,
        }
        for n, count in enumerate(counts)
    ]


def _sorted(rows: list[dict], key: str, descending: bool) -> list[dict]:
    # Accounts without the figure go last whichever way the column is sorted.
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    sort_key = (lambda r: r[key].lower()) if key == "name" else (lambda r: r[key])
    return sorted(present, key=sort_key, reverse=descending) + missing


@login_required
@require_GET
def insights_page(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    period, errors = _period(request)
    result = adoption(request.user, period)
    key = request.GET.get("sort", "name")
    key = key if key in SORTABLE else "name"
    descending = request.GET.get("dir") == "desc"
    ordered = _sorted(result.accounts, key, descending)
    page_number = request.GET.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and int(page_number) > 0 else 1
    pages = max(1, -(-len(ordered) // TABLE_PAGE))
    page_number = min(page_number, pages)
    shown = ordered[(page_number - 1) * TABLE_PAGE : page_number * TABLE_PAGE]
    base = {"from": period.first.isoformat(), "to": period.end.isoformat()}
    base["since"] = period.since.isoformat()
    columns = []
    for name, label in SORTABLE.items():
        # A column sorts high to low first (the name A to Z), and turns round when chosen again.
        first = "asc" if name == "name" else "desc"
        turned = "desc" if first == "asc" else "asc"
        chosen_again = name == key and (descending == (first == "desc"))
        columns.append(
            {
                "key": name,
                "label": label,
                "aria_sort": ("descending" if descending else "ascending") if name == key else None,
                "href": "?"
                + urlencode({**base, "sort": name, "dir": turned if chosen_again else first}),
            }
        )
    days = logins_by_day(request.user, period)
    buckets = _share_buckets(result.accounts)
    below = sum(1 for row in result.accounts if row["below_bar"])
    context = {
        "period": period,
        "errors": errors,
        "firm_row": result.firm,
        "bar_percent": int(ACTIVE_BAR * 100),
        "rows": shown,
        "columns": columns,
        "sort": key,
        "descending": descending,
        "page": page_number,
        "pages": pages,
        "accounts_total": len(ordered),
        "below_count": below,
        "query": urlencode(base),
        "sort_query": urlencode({**base, "sort": key, "dir": "desc" if descending else "asc"}),
        "csv_url": reverse("insights_api:adoption") + "?" + urlencode({**base, "format": "csv"}),
        "records_url": reverse("frontend:insights") + "accounts/",
        "days": days,
        "buckets": buckets,
        "chart_data": {
            "days": days,
            "buckets": buckets,
            "bar": ACTIVE_BAR,
            "status": {
                "before": result.firm["status_questions_before"],
                "after": result.firm["status_questions_after"],
            },
        },
        "phrases_form": PhrasesForm(initial={"phrases": "\n".join(status_phrases())}),
    }
    return render(request, "frontend/insights.html", context, status=400 if errors else 200)


@login_required
@require_POST
def insights_phrases(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    form = PhrasesForm(request.POST)
    if form.is_valid():
        try:
            kept = services.status_phrases_set(
                actor=request.user, phrases=form.cleaned_data["phrases"].splitlines()
            )
        except AtriumError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"{len(kept)} status phrase{'s' if len(kept) != 1 else ''} kept."
            )
    else:
        messages.error(
            request, "The phrases could not be read: " + " ".join(form.errors.get("phrases", []))
        )
    return redirect("frontend:insights")


RECORDS = {
    "logins": "Sign-ins",
    "tickets": "Tickets",
    "status-questions": "Status questions",
}


@login_required
@require_GET
def insights_records(request: HttpRequest, account_id: str, kind: str) -> HttpResponse:
    _admin_or_404(request)
    if kind not in RECORDS:
        raise Http404
    try:
        account = metrics_account(request.user, account_id)
    except NotFound:
        raise Http404 from None
    period, errors = _period(request)
    cursor = request.GET.get("cursor")
    try:
        limit = page_limit(request.GET.get("limit"))
        if kind == "logins":
            page = records.account_logins(request.user, account, period, cursor=cursor, limit=limit)
        elif kind == "tickets":
            page = records.account_tickets(
                request.user,
                account,
                period,
                status_only=request.GET.get("status") == "1",
                cursor=cursor,
                limit=limit,
            )
        else:
            page = records.account_status_messages(
                request.user, account, period, cursor=cursor, limit=limit
            )
    except Invalid as error:
        errors = {**errors, **error.fields, "message": error.message}
        page = records.Page(rows=[], next=None)
    status_tickets = None
    if kind == "status-questions" and not cursor:
        status_tickets = records.account_tickets(
            request.user, account, period, status_only=True, limit=TABLE_PAGE
        )
    query = period.query()
    extra = "&status=1" if kind == "tickets" and request.GET.get("status") == "1" else ""
    return render(
        request,
        "frontend/insights_records.html",
        {
            "account": account,
            "kind": kind,
            "title": RECORDS[kind],
            "kinds": RECORDS,
            "period": period,
            "page": page,
            "status_tickets": status_tickets,
            "status_only": bool(extra),
            "errors": errors,
            "query": query,
            "next_url": f"?{query}{extra}&cursor={page.next}" if page.next else None,
            "back_url": reverse("frontend:insights") + "?" + query,
            "records_url": reverse("frontend:insights") + f"accounts/{account.public_id}/",
            "ticket_url": "/tickets/",
            "thread_url": reverse("frontend:home") + "threads/",
        },
        status=400 if errors else 200,
    )
