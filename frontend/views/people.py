"""What the portal shows of a person to others: their picture."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from accounts import selectors
from accounts.errors import NotFound

log = logging.getLogger(__name__)


@login_required
@require_GET
@cache_control(private=True, max_age=300)
def avatar(request: HttpRequest, user_id: str) -> HttpResponse:
    """A person's picture, for the people who may see them (``permissions.can_view_person``);
    404 alike for unknown people, hidden ones and people without a picture."""
    try:
        person = selectors.person_for(request.user, user_id)
    except NotFound:
        raise Http404 from None
    if not person.avatar:
        raise Http404
    try:
        handle = person.avatar.open("rb")
    except FileNotFoundError:
        log.warning("avatar %s is missing from storage", person.avatar.name)
        raise Http404 from None
    # Always a PNG re-encoded at upload (accounts.services.profile).
    return FileResponse(handle, content_type="image/png")
