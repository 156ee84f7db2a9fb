"""Error responses: JSON with a stable code under /api/, a branded page elsewhere."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static

from accounts.http import json_error

log = logging.getLogger(__name__)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    log.warning("csrf refused %s %s: %s", request.method, request.path, reason)
    if _is_api(request):
        return json_error("csrf_failed", "The CSRF token is missing or wrong.", 403)
    return render(
        request,
        "frontend/error.html",
        {
            "title": "Please try again",
            "explanation": "Your session changed while this page was open. "
            "Go back, reload the page and try again.",
        },
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("not_found", "Not found.", 404)
    return render(
        request,
        "frontend/error.html",
        {
            "title": "Not found",
            "explanation": "There is nothing here, or you do not have access to it.",
        },
        status=404,
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("forbidden", "You may not do that.", 403)
    return render(
        request,
        "frontend/error.html",
        {
            "title": "Not allowed",
            "explanation": "You may not do that.",
        },
        status=403,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("bad_request", "The request is malformed.", 400)
    return render(
        request,
        "frontend/error.html",
        {
            "title": "Bad request",
            "explanation": "The request could not be understood.",
        },
        status=400,
    )


def _static_or_plain(path: str) -> str:
    # The manifest of production's static files may be what is broken: fall back to the
    # unhashed name, which collectstatic also writes.
    try:
        return static(path)
    except Exception:  # any failure here must not hide the page
        return f"/static/{path}"


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error("server_error", "Something went wrong on our side.", 500)
    # Rendered without the request: no context processor runs, nothing reads the database
    # (it may be what failed), no session or user is touched. The firm's name is the one
    # this process last showed, if any.
    from frontend import context_processors

    html = loader.render_to_string(
        "frontend/500.html",
        {
            "firm_name": context_processors.last_known_firm_name,
            "stylesheet": _static_or_plain("frontend/error.css"),
            "icon_svg": _static_or_plain("frontend/img/favicon.svg"),
            "icon_png": _static_or_plain("frontend/img/favicon-32.png"),
        },
    )
    return HttpResponse(html, status=500)
