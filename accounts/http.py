"""The JSON API's conventions, shared by every app's ``/api/v1/`` endpoints.

Errors are ``{"error": {"code": CODE, "message": TEXT}}`` with a stable code; missing and
forbidden objects are the same 404. Session authentication with CSRF for unsafe methods.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.errors import AtriumError

log = logging.getLogger(__name__)


def json_error(code: str, message: str, status: int, *, fields: dict | None = None) -> JsonResponse:
    body: dict = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return JsonResponse(body, status=status)


def client_meta(request: HttpRequest) -> dict:
    """Where a request came from, as records of access keep it: the address (behind a proxy,
    the one Daphne took from X-Forwarded-For) and the user agent."""
    return {
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def api_endpoint(*methods: str) -> Callable:
    """Decorate a JSON view: allowed methods, a signed-in active user, and service errors
    turned into JSON with their code."""

    allowed = {m.upper() for m in methods}

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed:
                response = json_error(
                    "method_not_allowed", f"{request.method} is not allowed here.", 405
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            if not (request.user.is_authenticated and request.user.is_active):
                return json_error("not_authenticated", "Sign in first.", 401)
            try:
                return view(request, *args, **kwargs)
            except AtriumError as error:
                if error.status >= 500:
                    log.error("api %s %s failed: %s", request.method, request.path, error.code)
                else:
                    log.info("api %s %s refused: %s", request.method, request.path, error.code)
                return json_error(error.code, error.message, error.status, fields=error.fields)

        return wrapper

    return decorate
