"""Pages of the firm and its clients: signing in, homes, accounts, invitations,
branding."""

from __future__ import annotations

import logging
import mimetypes
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions, selectors
from accounts.errors import AtriumError, NotFound, Throttled
from accounts.http import refuse_nul
from accounts.ids import is_public_id
from accounts.models import Invitation, User
from accounts.permissions import Action
from accounts.services import firm as firm_services
from accounts.services import invitations as invitation_services
from accounts.services import passwords as password_services
from accounts.services import two_factor
from approvals import selectors as approval_selectors
from approvals import signature_selectors
from frontend import forms
from frontend.context_processors import request_vocab
from frontend.views.common import account_or_404, decorated_approval, threads_by_account_id
from frontend.views.matters import new_matter_form
from frontend.views.status import client_home
from messaging import selectors as thread_selectors
from vault import selectors as vault_selectors

log = logging.getLogger(__name__)

# --- signing in and out -----------------------------------------------------------------


# A password accepted for someone with two-factor sign-in waits this long for the code.
TWO_FACTOR_PENDING = "atrium_two_factor_pending"
TWO_FACTOR_PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    template_name = "frontend/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.enabled(user):
            return super().form_valid(form)
        # Not signed in yet: the password is remembered as accepted, in a fresh anonymous
        # session, until the code is given (``login_code``).
        self.request.session.cycle_key()
        self.request.session[TWO_FACTOR_PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("frontend:login_code")


def _pending_sign_in(request: HttpRequest) -> tuple[User, dict] | None:
    pending = request.session.get(TWO_FACTOR_PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > (
        TWO_FACTOR_PENDING_SECONDS
    ):
        return None
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    return (user, pending) if user is not None else None


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in, for people with two-factor sign-in: a code from their
    app or a recovery code. Wrong codes are limited; past the limit the password must be
    given again, later."""
    if request.user.is_authenticated:
        return redirect("frontend:home")
    found = _pending_sign_in(request)
    if found is None:
        request.session.pop(TWO_FACTOR_PENDING, None)
        messages.info(request, "Sign in again to continue.")
        return redirect("frontend:login")
    user, pending = found
    form = forms.TwoFactorCodeForm(
        request.POST or None,
        label="Code from your authenticator app",
        help_text="Six digits. Lost your phone? Enter one of your recovery codes instead.",
    )
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                kind = two_factor.code_verify(user=user, code=form.cleaned_data["code"])
                del request.session[TWO_FACTOR_PENDING]
                # The session is marked as signed in with a code (django-otp), by the app
                # device whichever code was used.
                user.otp_device = two_factor.app_device(user)
                login(request, user, backend=pending["backend"])
                if kind is two_factor.CodeKind.RECOVERY:
                    left = two_factor.recovery_codes_left(user)
                    messages.warning(
                        request,
                        f"You used a recovery code; {left} left. Make new ones under Security.",
                    )
                return redirect(pending["next"])
        except Throttled as error:
            request.session.pop(TWO_FACTOR_PENDING, None)
            messages.error(request, error.message)
            return redirect("frontend:login")
        except AtriumError as error:
            form.add_error("code", error.message)
    return render(
        request,
        "frontend/login_code.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "frontend/password_reset.html"
    form_class = forms.PasswordResetForm
    success_url = reverse_lazy("frontend:password_reset_done")

    def form_valid(self, form):
        # The same answer whether a link went out, the address is unknown, or the request
        # was over a limit: the page must not tell which addresses have an account.
        password_services.password_reset_request(
            email=form.cleaned_data["email"],
            # The address axes counts sign-in failures against (settings, docs/deployment.md).
            client_ip=self.request.META.get("REMOTE_ADDR") or "unknown",
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "frontend/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "frontend/password_reset_confirm.html"
    success_url = reverse_lazy("frontend:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "frontend/password_reset_complete.html"


# --- homes ------------------------------------------------------------------------------


# The requests waiting for the person's decision that the staff home lists first.
HOME_WAITING = 5


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_firm_staff:
        # A client's home is their status page.
        return client_home(request)
    summaries = selectors.accounts_for_user(request.user)
    threads = threads_by_account_id(thread_selectors.thread_summaries(request.user))
    rows = [(s, threads.get(s.account.public_id, [])) for s in summaries]
    waiting = approval_selectors.awaiting(request.user, limit=HOME_WAITING)
    context = {
        "summaries": summaries,
        "rows": rows,
        "waiting": [decorated_approval(row) for row in waiting.rows],
        "more_waiting": waiting.next is not None,
        "to_sign": signature_selectors.waiting_for(request.user, limit=HOME_WAITING),
    }
    return render(request, "frontend/staff_home.html", context)


@login_required
@require_GET
def account_page(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    detail = selectors.account_detail(request.user, account)
    threads = thread_selectors.thread_summaries(request.user, account=account)
    thread_form = None
    if detail.can_change:
        thread_form = forms.ThreadForm(
            matters=detail.matters,
            vocab=request_vocab(request),
            initial={"matter": request.GET.get("matter", "")},
        )
    return render(
        request,
        "frontend/account.html",
        {
            "detail": detail,
            "threads": threads,
            "invite_form": forms.InviteForm(),
            "matter_form": new_matter_form(request) if detail.can_change else None,
            "thread_form": thread_form,
            "document_count": vault_selectors.documents_visible(request.user, account).count(),
        },
    )


@login_required
@require_POST
def account_invite(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            issued = invitation_services.invitation_create(
                actor=request.user, account=account, **form.cleaned_data
            )
        except AtriumError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}.")
    else:
        messages.error(request, "Enter a valid e-mail address to invite.")
    return _back(request, account)


def _back(request: HttpRequest, account) -> HttpResponse:
    """To the account's settings page when the form was sent from it, else its page."""
    if request.POST.get("back") == "settings":
        return redirect("frontend:account_settings", account_id=account.public_id)
    return redirect("frontend:account", account_id=account.public_id)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = (
        Invitation.objects.select_related("account").filter(public_id=invitation_id).first()
        if is_public_id(invitation_id)
        else None
    )
    if invitation is None or not permissions.can_on_account(
        request.user, Action.INVITE, invitation.account
    ):
        raise Http404
    try:
        invitation_services.invitation_revoke(actor=request.user, invitation=invitation)
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return _back(request, invitation.account)


# --- invitations ------------------------------------------------------------------------


_INVITATION_GONE = {
    "accepted": "This invitation has already been used. Sign in with the address it was sent to.",
    "expired": "This invitation has expired. Ask the person who invited you for a new one.",
    "revoked": "This invitation was withdrawn. Ask the person who invited you for a new one.",
}


@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: a new person sets a name and password; someone who already has
    an account signs in as the invited address and joins."""
    try:
        invitation = invitation_services.invitation_lookup(token)
    except NotFound:
        log.info("invitation link with unknown token opened")
        return render(
            request, "frontend/invitation_invalid.html", {"reason": "invalid"}, status=404
        )
    if invitation.state != "pending":
        return render(
            request,
            "frontend/invitation_invalid.html",
            {
                "reason": invitation.state,
                "explanation": _INVITATION_GONE[invitation.state],
                "invitation": invitation,
            },
            status=410,
        )
    existing = User.objects.filter(email=invitation.email).first()
    if existing is not None and invitation_services.returning_client(existing.email):
        # Switched off when they left their last account: they choose a new password here.
        existing = None
    context = {"invitation": invitation, "existing": existing}
    if existing is not None:
        if request.method == "POST" and request.user.is_authenticated:
            try:
                invitation_services.invitation_accept_existing_user(token=token, user=request.user)
            except AtriumError as error:
                messages.error(request, error.message)
                return redirect("frontend:invitation", token=token)
            messages.success(request, f"You have joined {invitation.account.name}.")
            return redirect("frontend:account", account_id=invitation.account.public_id)
        return render(request, "frontend/invitation_existing.html", context)

    form = forms.AcceptInvitationForm(request.POST or None, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_services.invitation_accept_new_user(
                token=token, name=form.cleaned_data["name"], password=form.cleaned_data["password1"]
            )
        except AtriumError as error:
            if error.fields.get("password"):
                form.add_error("password1", error.message)
            else:
                form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.account.name}.")
            return redirect("frontend:home")
    return render(
        request,
        "frontend/invitation_accept.html",
        {**context, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- branding ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def branding_page(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_firm(request.user):
        raise Http404
    firm = firm_services.firm_get()
    form = forms.BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "name": firm.name,
            "primary_colour": firm.primary_colour,
            "accent_colour": firm.accent_colour,
            "support_email": firm.support_email,
            "matter_word": firm.matter_word,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            firm_services.firm_update_branding(actor=request.user, **form.cleaned_data)
        except AtriumError as error:
            for field in error.fields:
                if field in form.fields:
                    form.add_error(field, error.message)
                    break
            else:
                form.add_error(None, error.message)
        else:
            messages.success(request, "Branding saved.")
            return redirect("frontend:branding")
    return render(
        request,
        "frontend/branding.html",
        {
            "form": form,
            "two_factor_form": forms.FirmTwoFactorForm(
                initial={"require_two_factor": two_factor.firm_requires_two_factor()}
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def firm_two_factor(request: HttpRequest) -> HttpResponse:
    """A firm admin requires two-factor sign-in of the firm's people, or stops requiring it."""
    if not permissions.can_manage_firm(request.user):
        raise Http404
    form = forms.FirmTwoFactorForm(request.POST)
    try:
        refuse_nul(request.POST)
        if not form.is_valid():
            raise AtriumError("Choose whether to require two-factor sign-in.")
        required = form.cleaned_data["require_two_factor"]
        two_factor.firm_two_factor_set(actor=request.user, required=required)
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:branding")
    messages.success(
        request,
        "Two-factor sign-in is now required of firm admins and staff."
        if required
        else "Two-factor sign-in is now optional for everyone.",
    )
    return redirect("frontend:branding")


@login_required
@require_POST
def firm_document_rules(request: HttpRequest) -> HttpResponse:
    """The Documents section of the Branding page: may client admins version the firm's
    documents."""
    if not permissions.can_manage_firm(request.user):
        raise Http404
    try:
        refuse_nul(request.POST)
        form = forms.DocumentRulesForm(request.POST)
        if not form.is_valid():
            messages.error(request, "That setting could not be read.")
            return redirect("frontend:branding")
        firm_services.firm_update_document_rules(
            actor=request.user, clients_may_version=form.cleaned_data["clients_may_version"]
        )
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:branding")
    messages.success(request, "Document settings saved.")
    return redirect("frontend:branding")


@require_GET
@cache_control(public=True, max_age=300)
def firm_logo(request: HttpRequest) -> HttpResponse:
    """The firm's logo, public (the sign-in page shows it). Served from storage by the app
    so that no media directory needs to be exposed."""
    firm = firm_services.firm_get()
    if not firm.logo:
        raise Http404
    try:
        handle = firm.logo.open("rb")
    except FileNotFoundError:
        log.warning("firm logo %s is missing from storage", firm.logo.name)
        raise Http404 from None
    content_type = mimetypes.guess_type(firm.logo.name)[0] or "application/octet-stream"
    return FileResponse(handle, content_type=content_type)
