"""The search page: what the signed-in person may find, by type and client. Thin: the rules
are ``search.selectors``'."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.errors import Invalid, NotFound
from accounts.http import refuse_nul
from search import selectors
from search.models import Kind
from search.query import MAX_QUERY_CHARS

# What each type is called on the page and the icon it is shown with.
KIND_WORDS = {
    Kind.MESSAGE: ("Message", "message"),
    Kind.DOCUMENT: ("Document", "file"),
    Kind.MATTER: ("Matter", "folder"),
    Kind.PERSON: ("Person", "user"),
}


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    kind = request.GET.get("type", "")
    account_id = request.GET.get("account", "")
    accounts = list(
        permissions.accounts_visible_to(request.user).order_by("name").only("public_id", "name")
    )
    names = {a.public_id: a.name for a in accounts}
    page, error = None, ""
    if q.strip() or kind or account_id:
        try:
            refuse_nul(request.GET)
            page = selectors.search(
                request.user,
                q=q,
                kind=kind,
                account_id=account_id,
                cursor=request.GET.get("cursor"),
            )
        except NotFound:
            error = "That client is not one you can search."
        except Invalid as refused:
            error = refused.message
    results = [
        {
            "result": r,
            "kind_word": KIND_WORDS[r.kind][0],
            "icon": KIND_WORDS[r.kind][1],
            "account_name": names.get(r.account, "") if r.kind != Kind.PERSON else r.context,
        }
        for r in (page.results if page else [])
    ]
    return render(
        request,
        "frontend/search.html",
        {
            "q": q if "\x00" not in q else "",
            "kind": kind if kind in Kind.values else "",
            "account_id": account_id if account_id in names else "",
            "accounts": accounts,
            "kinds": [(k, KIND_WORDS[k][0]) for k in Kind.values],
            "page": page,
            "results": results,
            "error": error,
            "max_query_chars": MAX_QUERY_CHARS,
        },
    )
