"""The public check page (docs/signatures.md, "Checking a document"): anyone, signed in or
not, uploads a PDF sealed by the portal or an evidence bundle and reads what it proves.
Nothing is stored; each address may check a limited number of files per window (counted in
the cache, as password-reset requests are)."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import throttles
from approvals.signing import check

log = logging.getLogger(__name__)

TEMPLATE = "frontend/check.html"


class CheckForm(forms.Form):
    file = forms.FileField(
        label="Signed PDF or evidence bundle",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.json,application/pdf"}),
    )


def _answer(request: HttpRequest, form: CheckForm, status: int = 200, **context) -> HttpResponse:
    context.setdefault("limit", filesizeformat(settings.ATRIUM_CHECK_MAX_BYTES))
    return render(request, TEMPLATE, {"form": form, **context}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def check_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _answer(request, CheckForm())
    form = CheckForm(request.POST, request.FILES)
    address = request.META.get("REMOTE_ADDR") or "unknown"
    limits = settings.ATRIUM_CHECK_LIMIT
    if not throttles.allow(scope="check", value=address, **limits):
        log.warning("check refused: too many files from %s", address)
        form.add_error(
            None,
            f"You have checked many files in a short time. Try again in "
            f"{max(1, limits['window'] // 60)} minutes.",
        )
        return _answer(request, form, status=429)
    if not form.is_valid():
        return _answer(request, form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > settings.ATRIUM_CHECK_MAX_BYTES:
        form.add_error(
            "file",
            f"The file is larger than {filesizeformat(settings.ATRIUM_CHECK_MAX_BYTES)}, the "
            "most this page checks.",
        )
        return _answer(request, form, status=413)
    data = upload.read()
    try:
        result = check.check_file(data)
    except check.CheckError as error:
        form.add_error("file", str(error))
        return _answer(request, form, status=400)
    except ImproperlyConfigured:
        form.add_error(
            "file",
            "This portal does not seal documents, so it cannot check a PDF; it checks "
            "evidence bundles.",
        )
        return _answer(request, form, status=400)
    log.info("check: a %s checked, verified %s", result.kind, result.verified)
    return _answer(request, CheckForm(), result=result)
