"""A person's own settings: profile, security (password, two-factor, sessions) and
notifications. Every page here acts on the signed-in person only."""

from __future__ import annotations

import logging

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import selectors
from accounts.errors import AtriumError, NotFound
from accounts.http import refuse_nul
from accounts.services import passwords as password_services
from accounts.services import profile as profile_services
from accounts.services import sessions as session_services
from accounts.services import two_factor
from frontend import forms
from messaging import preferences, subscriptions
from messaging.models import Channel

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
    person = request.user
    enabled = two_factor.enabled(person)
    return {
        "section": "security",
        "password_form": forms_shown.get("password_form") or forms.PasswordChangeForm(),
        "sessions": selectors.signed_in_sessions(person, request.session.session_key),
        "two_factor_enabled": enabled,
        "two_factor_required": two_factor.required_for(person),
        "recovery_codes_left": two_factor.recovery_codes_left(person) if enabled else 0,
        "disable_form": forms_shown.get("disable_form") or forms.TwoFactorDisableForm(),
        "renew_form": forms_shown.get("renew_form")
        or forms.TwoFactorCodeForm(auto_id="renew_%s", label="A code from your app"),
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


# --- two-factor sign-in ---------------------------------------------------------------------


def qr_svg(text: str) -> SafeString:
    """``text`` as a QR code, an inline SVG drawn with attributes only (no style, no script,
    so the page's Content-Security-Policy holds)."""
    svg = segno.make(text, error="m").svg_inline(
        scale=5, dark="#000000", light="#ffffff", omitsize=True
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup: path data, no text of ours


# The secret being set up waits in the session until a code confirms it.
ENROLMENT_KEY = "atrium_two_factor_key"


def _enrolment_page(request: HttpRequest, form, status: int = 200) -> HttpResponse:
    device = two_factor.enrolment_device(user=request.user, key=request.session.get(ENROLMENT_KEY))
    request.session[ENROLMENT_KEY] = device.key
    return render(
        request,
        "frontend/settings/two_factor.html",
        {
            "section": "security",
            "qr": qr_svg(device.config_url),
            "secret": two_factor.secret_text(device),
            "form": form,
            "required": two_factor.required_for(request.user),
        },
        status=status,
    )


def _code_form(data=None):
    return forms.TwoFactorCodeForm(
        data,
        label="The six-digit code your app shows now",
        help_text="It changes every 30 seconds.",
    )


@login_required
@require_GET
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """Setting up two-factor sign-in: the QR code and the secret of a new device."""
    if two_factor.enabled(request.user):
        return redirect("frontend:security")
    return _enrolment_page(request, _code_form())


@login_required
@require_POST
def two_factor_confirm(request: HttpRequest) -> HttpResponse:
    """The first code confirms the device; the recovery codes are shown, this once."""
    form = _code_form(request.POST)
    status = 400
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            codes = two_factor.enrolment_confirm(
                user=request.user,
                key=request.session.get(ENROLMENT_KEY),
                code=form.cleaned_data["code"],
                keep_session_key=request.session.session_key,
            )
            request.session.pop(ENROLMENT_KEY, None)
            otp_login(request, two_factor.app_device(request.user))
            return _recovery_codes_page(request, codes, "Two-factor sign-in is on.")
    except AtriumError as error:
        if error.code == "already_enabled":
            return redirect("frontend:security")
        if error.code == "not_started":
            return redirect("frontend:two_factor")
        status = error.status
        form.add_error("code", error.message)
    return _enrolment_page(request, form, status=status)


def _recovery_codes_page(request: HttpRequest, codes: list[str], heading: str) -> HttpResponse:
    response = render(
        request,
        "frontend/settings/recovery_codes.html",
        {"section": "security", "codes": codes, "heading": heading},
    )
    # Shown once: never kept by a cache or the browser's history.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    form = forms.TwoFactorCodeForm(request.POST, auto_id="renew_%s", label="A code from your app")
    status = 400
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            codes = two_factor.recovery_codes_renew(
                user=request.user, code=form.cleaned_data["code"]
            )
            return _recovery_codes_page(request, codes, "New recovery codes")
    except AtriumError as error:
        status = error.status
        _field_error(form, error)
    return render(
        request,
        "frontend/settings/security.html",
        {**_security_context(request, renew_form=form), "form": form},
        status=status,
    )


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = forms.TwoFactorDisableForm(request.POST)
    status = 400
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            two_factor.two_factor_disable(
                user=request.user,
                password=form.cleaned_data["current_password"],
                code=form.cleaned_data["code"],
            )
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("frontend:security")
    except AtriumError as error:
        status = error.status
        _field_error(form, error)
    return render(
        request,
        "frontend/settings/security.html",
        {**_security_context(request, disable_form=form), "form": form},
        status=status,
    )


# --- notifications ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """How the person is told of each kind of thing (live, by e-mail, daily, or not), and
    the e-mails they take whole (on or off)."""
    chosen = preferences.preferences_for(request.user)
    subscribed = subscriptions.subscriptions_for(request.user)
    status = 200
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            changes: dict[str, object] = {
                kind: request.POST.get(f"channel-{kind}", "")
                for kind, _ in preferences.kinds()
                if f"channel-{kind}" in request.POST
            }
            for name in subscribed:
                if f"subscription-{name}" in request.POST:
                    value = request.POST[f"subscription-{name}"]
                    # Anything but "on" or "off" goes on as it came, for the service to refuse.
                    changes[name] = {"on": True, "off": False}.get(value, value)
            subscriptions.notifications_set(user=request.user, changes=changes)
            messages.success(request, "Notification settings saved.")
            return redirect("frontend:notification_settings")
        except AtriumError as error:
            status = 400
            errors = dict.fromkeys(error.fields, "Choose one of the options.")
            messages.error(request, error.message)
            chosen = {
                kind: request.POST.get(f"channel-{kind}", channel)
                for kind, channel in chosen.items()
            }
            subscribed = {
                name: request.POST.get(f"subscription-{name}", "on" if on else "off") == "on"
                for name, on in subscribed.items()
            }
    rows = [
        {"kind": kind, "label": label, "channel": chosen[kind], "error": errors.get(kind)}
        for kind, label in preferences.kinds()
    ]
    whole = [
        {
            "name": s.name,
            "label": s.label,
            "description": s.description,
            "on": subscribed[s.name],
            "error": errors.get(s.name),
        }
        for s in subscriptions.offered_to(request.user)
        if s.name in subscribed
    ]
    return render(
        request,
        "frontend/settings/notifications.html",
        {
            "section": "notifications",
            "rows": rows,
            "channels": Channel.choices,
            "subscriptions": whole,
        },
        status=status,
    )
