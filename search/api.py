"""``/api/v1/search``: what the signed-in person may find (``docs/api.md``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.http import api_endpoint
from search import selectors


@api_endpoint("GET")
def search(request: HttpRequest) -> JsonResponse:
    page = selectors.search(
        request.user,
        q=request.GET.get("q"),
        kind=request.GET.get("type"),
        account_id=request.GET.get("account"),
        limit=request.GET.get("limit"),
        cursor=request.GET.get("cursor"),
    )
    return JsonResponse({"results": [r.json() for r in page.results], "next": page.next_cursor})
