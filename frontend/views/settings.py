"""A person's own settings: profile, security (password, two-factor, sessions) and
notifications. Every page here acts on the signed-in person only."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors
from accounts.errors import AtriumError, NotFound
from accounts.http import refuse_nul
from accounts.services import passwords as password_services
from accounts.services import profile as profile_services
from accounts.services import sessions as session_services
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


# --- security: password, two-factor, sessions --------------------------------------------


def _security_context(request: HttpRequest, **forms_shown) -> dict:
    return {
        "section": "security",
        "password_form": forms_shown.get("password_form") or forms.PasswordChangeForm(),
        "sessions": selectors.signed_in_sessions(request.user, request.session.session_key),
    }


@login_required
@require_GET
def security_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/settings/security.html", _security_context(request))


@login_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.POST)
    status = 400
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            ended = password_services.password_change(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password1"],
                keep_session_key=request.session.session_key,
            )
            session_services.session_keep_after_password_change(request)
            signed_out = f" {ended} other browser(s) were signed out." if ended else ""
            messages.success(request, "Your password was changed." + signed_out)
            return redirect("frontend:security")
    except AtriumError as error:
        status = error.status
        if "new_password" in error.fields:
            form.add_error("new_password1", error.message)
        else:
            _field_error(form, error)
    return render(
        request,
        "frontend/settings/security.html",
        _security_context(request, password_form=form),
        status=status,
    )


@login_required
@require_POST
def session_sign_out(request: HttpRequest, session_id: str) -> HttpResponse:
    try:
        refuse_nul(request.POST)
        current = selectors.signed_in_session(request.session.session_key)
        if current is not None and current.public_id == session_id:
            messages.error(request, "To sign out of this browser, use Sign out.")
            return redirect("frontend:security")
        session_services.session_end(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:security")
    messages.success(request, "That browser was signed out.")
    return redirect("frontend:security")


@login_required
@require_POST
def sessions_sign_out_others(request: HttpRequest) -> HttpResponse:
    try:
        refuse_nul(request.POST)
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:security")
    ended = session_services.sessions_end(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(
        request,
        f"Signed out everywhere else ({ended} browser{'s' if ended != 1 else ''})."
        if ended
        else "You were signed in nowhere else.",
    )
    return redirect("frontend:security")
