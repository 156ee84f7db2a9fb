"""The firm's own pages for the work: the board of every client's matters, what is late
first, and the checklist templates matters start from (firm admins)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import ClientAccount
from projects.selectors.board import BoardRow, staff_board

# Matters shown on one page of the board; "More" carries on after the last one shown.
BOARD_PAGE = 50


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    next: str | None
    total: int
    late: int


def _board_page(rows: list[BoardRow], cursor: str) -> BoardPage | None:
    """The rows after the matter whose public id is ``cursor`` (the board's own order); None
    when the cursor names no matter of this board (it moved off it since, or never was)."""
    start = 0
    if cursor:
        found = next((i for i, row in enumerate(rows) if row.matter.public_id == cursor), None)
        if found is None:
            return None
        start = found + 1
    shown = rows[start : start + BOARD_PAGE]
    more = start + BOARD_PAGE < len(rows)
    return BoardPage(
        rows=shown,
        next=shown[-1].matter.public_id if more and shown else None,
        total=len(rows),
        late=sum(1 for row in rows if row.late),
    )


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
    rows = staff_board(
        user, today=timezone.localdate(), account=account, owner=user if mine else None
    )
    page = _board_page(rows, request.GET.get("cursor", ""))
    if page is None:
        messages.error(request, "That link to more of the board is not valid; here is its start.")
        page = _board_page(rows, "")
    filters = {k: v for k, v in (("account", account_id), ("mine", "1" if mine else "")) if v}
    more = f"?{urlencode({**filters, 'cursor': page.next})}" if page.next else ""
    return render(
        request,
        "frontend/board.html",
        {
            "page": page,
            "account": account,
            "mine": mine,
            "accounts": permissions.accounts_visible_to(user)
            .order_by("name")
            .only("public_id", "name"),
            "filtered": bool(filters),
            "more": more,
        },
    )
