"""A person's own settings: profile, security (password, two-factor, sessions) and
notifications. Every page here acts on the signed-in person only."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.errors import AtriumError
from accounts.http import refuse_nul
from accounts.services import profile as profile_services
from frontend import forms

log = logging.getLogger(__name__)


def _field_error(form, error: AtriumError) -> None:
    """Show a service's refusal on the field it names, or above the form."""
    for field in error.fields:
        if field in form.fields:
            form.add_error(field, error.message)
            return
    form.add_error(None, error.message)


@login_required
@require_http_methods(["GET", "POST"])
def profile_page(request: HttpRequest) -> HttpResponse:
    person = request.user
    form = forms.ProfileForm(
        request.POST or None,
        request.FILES or None,
        initial={"name": person.name, "time_zone": person.time_zone},
    )
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                profile_services.profile_save(
                    user=person,
                    name=form.cleaned_data["name"],
                    time_zone=form.cleaned_data["time_zone"],
                    avatar=form.cleaned_data["avatar"] or None,
                    remove_avatar=form.cleaned_data["remove_avatar"],
                )
                messages.success(request, "Profile saved.")
                return redirect("frontend:profile")
        except AtriumError as error:
            person.refresh_from_db()
            _field_error(form, error)
    return render(
        request,
        "frontend/settings/profile.html",
        {"form": form, "section": "profile"},
        status=400 if request.method == "POST" else 200,
    )
