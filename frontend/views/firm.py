"""Running the firm in the portal: its clients, each account's settings and people, and the
firm's own people. Firm admins do everything here; an account's team renames it, sets its
status and manages its client people; its client admins manage its client members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions, selectors
from accounts.errors import AtriumError, Forbidden, Invalid, NotFound
from accounts.http import refuse_nul
from accounts.models import AccountStatus, ClientAccount, ClientRole, User
from accounts.permissions import Action
from accounts.services import client_accounts as account_services
from accounts.services import passwords as password_services
from accounts.services import people as people_services
from accounts.services import two_factor as two_factor_services
from accounts.services import users as user_services
from billing.selectors.settings import profile_of
from frontend import forms
from frontend.views.common import account_or_404

# What each status change does, as the confirmation page says it.
STATUS_CONSEQUENCES = {
    AccountStatus.SUSPENDED: (
        "Suspend {name}?",
        "{name}'s own people are shut out at once, open pages included, until you lift the "
        "suspension. The team keeps working on everything.",
        "Suspend",
    ),
    AccountStatus.ARCHIVED: (
        "Archive {name}?",
        "The work is over: everyone who sees {name} still does, and lists show it after the "
        "active clients.",
        "Archive",
    ),
    AccountStatus.ACTIVE: (
        "Make {name} active again?",
        "Its people get back in as they were.",
        "Make active",
    ),
}


def _page_or_first(request: HttpRequest, read):
    """The page the ``cursor`` in the address names, or the first, saying so, if the cursor
    is not one of this list's."""
    try:
        return read(request.GET.get("cursor"))
    except Invalid:
        messages.error(request, "That link to more of the list is not valid; here is its start.")
        return read(None)


def _confirm(
    request: HttpRequest, *, title: str, text: str, button: str, back: str, danger: bool = True
) -> HttpResponse:
    """Ask before doing what cannot be taken back in one click: the same form again, with
    ``confirm``; ``back`` is where "Cancel" leads."""
    return render(
        request,
        "frontend/confirm.html",
        {
            "title": title,
            "text": text,
            "button": button,
            "danger": danger,
            "fields": [(k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"],
            "back": back,
        },
    )


# Helping someone who cannot sign in, as the confirmation page says it.
SIGN_IN_HELP = {
    "password": (
        "Send {name} a link to choose a new password?",
        "Their password stops working now and every session of theirs ends; they are e-mailed "
        "a link to choose a new one.",
        "Send the link",
    ),
    "two_factor": (
        "Reset {name}'s two-factor sign-in?",
        "Their authenticator app and recovery codes stop working and every session of theirs "
        "ends. They sign in with their password alone and set two-factor sign-in up again.",
        "Reset two-factor sign-in",
    ),
}


def _sign_in_help(
    request: HttpRequest, *, person: User, action: str, confirmed: bool, back: str
) -> HttpResponse | str:
    """A password link or a two-factor reset for ``person``: the confirmation page first,
    then the service's own (firm admins only); what was done, as the message says it."""
    if not permissions.can_manage_firm(request.user):
        raise Forbidden("Only firm admins help someone sign in again.")
    if not confirmed:
        title, text, button = SIGN_IN_HELP[action]
        return _confirm(
            request, title=title.format(name=person.name), text=text, button=button, back=back
        )
    if action == "password":
        password_services.password_reset_force(actor=request.user, user=person)
        if not person.is_active:
            return f"{person.name}'s password no longer works; switched off, they get no link."
        return f"A link to choose a new password is on its way to {person.email}."
    two_factor_services.two_factor_reset_by(actor=request.user, user=person)
    return f"{person.name} signs in with their password and sets up two-factor sign-in again."


def _firm_admin_or_404(user: User) -> None:
    if not permissions.can_manage_firm(user):
        raise Http404


# --- clients -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def clients_page(request: HttpRequest) -> HttpResponse:
    """Every client account, and a form to open one. Firm admins only."""
    _firm_admin_or_404(request.user)
    form = forms.ClientAccountForm(request.POST or None)
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                account = account_services.client_account_create(
                    actor=request.user, name=form.cleaned_data["name"]
                )
                messages.success(request, f"{account.name} is open: put its team together.")
                return redirect("frontend:account_settings", account_id=account.public_id)
        except AtriumError as error:
            form.add_error("name" if "name" in error.fields else None, error.message)
    page = _page_or_first(
        request, lambda cursor: selectors.client_accounts_page(request.user, cursor=cursor)
    )
    return render(
        request,
        "frontend/clients.html",
        {"page": page, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- an account's settings and people -------------------------------------------------------


def _settings_account(user: User, account_id: str) -> ClientAccount:
    """The account if ``user`` manages something of it (its firm side, or a client admin)."""
    return account_or_404(user, account_id, Action.INVITE)


def _back_to_settings(account: ClientAccount) -> HttpResponse:
    return redirect(_settings_url(account))


def _settings_url(account: ClientAccount) -> str:
    return reverse("frontend:account_settings", args=[account.public_id])


@login_required
@require_GET
def account_settings(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    people = _page_or_first(
        request,
        lambda cursor: selectors.account_people_page(request.user, account, cursor=cursor),
    )
    can_change = permissions.can_on_account(request.user, Action.CHANGE, account)
    team_form = None
    if people.can_manage_team:
        on_team = {t.user_id for t in people.team}
        staff = [u for u in selectors.firm_staff_active() if u.pk not in on_team]
        team_form = forms.TeamAddForm(staff=staff)
    return render(
        request,
        "frontend/account_settings.html",
        {
            "account": account,
            "people": people,
            "can_change": can_change,
            "firm_side": request.user.is_firm_staff,
            "name_form": forms.ClientAccountForm(initial={"name": account.name}, auto_id="name_%s"),
            "statuses": [s for s in AccountStatus if s != account.status],
            "team_form": team_form,
            "invite_form": forms.InviteForm(auto_id="invite_%s"),
            "roles": ClientRole.choices,
            "firm_admin": permissions.can_manage_firm(request.user),
            "hold_form": forms.LegalHoldForm(auto_id="hold_%s"),
            "billing_details": profile_of(account),
        },
    )


@login_required
@require_POST
def account_legal_hold(request: HttpRequest, account_id: str) -> HttpResponse:
    """Set a legal hold (with its reason) or release it (confirmed). Firm admins only."""
    account = _settings_account(request.user, account_id)
    form = forms.LegalHoldForm(request.POST)
    try:
        refuse_nul(request.POST)
        if not form.is_valid():
            raise Invalid("Set or release the hold; a reason has at most 300 characters.")
        if form.cleaned_data["action"] == "set":
            account_services.legal_hold_set(
                actor=request.user, account=account, reason=form.cleaned_data["reason"]
            )
            done = f"{account.name} is on legal hold."
        else:
            if not permissions.can_manage_firm(request.user):
                raise Forbidden("Only firm admins release a legal hold.")
            if not form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Release the legal hold on {account.name}?",
                    text="Its records may be destroyed again under the usual rules.",
                    button="Release the hold",
                    back=_settings_url(account),
                )
            account_services.legal_hold_release(actor=request.user, account=account)
            done = f"The legal hold on {account.name} is released."
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back_to_settings(account)


@login_required
@require_POST
def account_rename(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    form = forms.ClientAccountForm(request.POST)
    try:
        refuse_nul(request.POST)
        if not form.is_valid():
            raise Invalid("Enter the client's name, at most 160 characters.")
        account_services.client_account_rename(
            actor=request.user, account=account, name=form.cleaned_data["name"]
        )
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Renamed to {account.name}.")
    return _back_to_settings(account)


@login_required
@require_POST
def account_status(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    form = forms.AccountStatusForm(request.POST)
    try:
        refuse_nul(request.POST)
        if not form.is_valid():
            raise Invalid("Choose one of the listed statuses.")
        status = form.cleaned_data["status"]
        if not form.cleaned_data["confirm"]:
            account_services.client_account_change_check(request.user, account)
            title, text, button = STATUS_CONSEQUENCES[AccountStatus(status)]
            return _confirm(
                request,
                title=title.format(name=account.name),
                text=text.format(name=account.name),
                button=button,
                back=_settings_url(account),
                danger=status != AccountStatus.ACTIVE,
            )
        account_services.client_account_set_status(
            actor=request.user, account=account, status=status
        )
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{account.name} is now {account.get_status_display().lower()}.")
    return _back_to_settings(account)


@login_required
@require_POST
def account_team_add(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    try:
        refuse_nul(request.POST)
        account_services.team_manage_check(request.user)
        form = forms.TeamAddForm(request.POST, staff=selectors.firm_staff_active())
        if not form.is_valid():
            raise Invalid("Choose a member of the firm's staff from the list.")
        person = form.cleaned_data["user"]
        account_services.team_assign(
            actor=request.user,
            account=account,
            user=person,
            lead=True if form.cleaned_data["lead"] else None,
        )
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{person.name} is on the team.")
    return _back_to_settings(account)


def _person_or_error(user_id: str) -> User:
    person = selectors.user_by_public_id(user_id)
    if person is None:
        raise NotFound("That person is not here any more.")
    return person


@login_required
@require_POST
def account_team_change(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    form = forms.TeamChangeForm(request.POST)
    try:
        refuse_nul(request.POST)
        account_services.team_manage_check(request.user)
        person = _person_or_error(user_id)
        if not form.is_valid() or selectors.team_place(account, person) is None:
            raise Invalid("Choose someone on the team and what to do.")
        action = form.cleaned_data["action"]
        if action == "remove":
            if not form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Take {person.name} off {account.name}'s team?",
                    text=f"They lose {account.name} at once, open pages included, unless they "
                    "are a firm admin.",
                    button="Take off the team",
                    back=_settings_url(account),
                )
            account_services.team_unassign(actor=request.user, account=account, user=person)
            done = f"{person.name} is off the team."
        else:
            lead = action == "lead"
            account_services.team_assign(
                actor=request.user, account=account, user=person, lead=lead
            )
            done = f"{person.name} {'leads' if lead else 'no longer leads'} {account.name}."
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back_to_settings(account)


@login_required
@require_POST
def account_person_change(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    account = _settings_account(request.user, account_id)
    form = forms.PersonChangeForm(request.POST)
    try:
        refuse_nul(request.POST)
        people_services.client_people_manage_check(request.user, account)
        person = _person_or_error(user_id)
        if not form.is_valid():
            raise Invalid("Choose one of the listed roles.")
        if form.cleaned_data["action"] in SIGN_IN_HELP:
            if not selectors.account_member(account, person):
                raise NotFound("That person is not in this account.")
            done = _sign_in_help(
                request,
                person=person,
                action=form.cleaned_data["action"],
                confirmed=form.cleaned_data["confirm"],
                back=_settings_url(account),
            )
            if not isinstance(done, str):
                return done
        elif form.cleaned_data["action"] == "remove":
            if not form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Remove {person.name} from {account.name}?",
                    text="They lose it at once, open pages included. What they said and shared "
                    "stays, under their name. If it is their only account, they are switched "
                    "off and signed out everywhere.",
                    button="Remove",
                    back=_settings_url(account),
                )
            removal = people_services.client_person_remove(
                actor=request.user, account=account, user=person
            )
            done = f"{person.name} is no longer in {account.name}." + (
                " It was their only account: they are switched off." if removal.deactivated else ""
            )
        else:
            membership = people_services.client_person_set_role(
                actor=request.user, account=account, user=person, role=form.cleaned_data["role"]
            )
            done = f"{person.name} is now {membership.get_role_display().lower()}."
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back_to_settings(account)


# --- the firm's people ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def firm_people(request: HttpRequest) -> HttpResponse:
    """The firm's admins and staff, and adding one: they are mailed a link to choose their
    password. Firm admins only."""
    _firm_admin_or_404(request.user)
    form = forms.StaffAddForm(request.POST or None)
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                person = user_services.user_add(actor=request.user, **form.cleaned_data)
                messages.success(
                    request, f"{person.name} is added: a link to choose a password is on its way."
                )
                return redirect("frontend:firm_people")
        except AtriumError as error:
            field = next((f for f in error.fields if f in form.fields), None)
            form.add_error(field, error.message)
    page = _page_or_first(request, lambda cursor: selectors.firm_people_page(cursor=cursor))
    return render(
        request,
        "frontend/firm_people.html",
        {"page": page, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def firm_person(request: HttpRequest, user_id: str) -> HttpResponse:
    _firm_admin_or_404(request.user)
    form = forms.FirmPersonForm(request.POST)
    try:
        refuse_nul(request.POST)
        person = _person_or_error(user_id)
        if not person.is_firm_staff:
            raise NotFound("That person is not one of the firm's people.")
        if not form.is_valid():
            raise Invalid("Choose one of the listed roles.")
        action = form.cleaned_data["action"]
        if action in SIGN_IN_HELP:
            done = _sign_in_help(
                request,
                person=person,
                action=action,
                confirmed=form.cleaned_data["confirm"],
                back=reverse("frontend:firm_people"),
            )
            if not isinstance(done, str):
                return done
        elif action == "deactivate":
            if not form.cleaned_data["confirm"]:
                return _confirm(
                    request,
                    title=f"Switch {person.name} off?",
                    text="They can no longer sign in, and every session of theirs ends at once. "
                    "What they said and shared stays, under their name; their teams stay, for "
                    "when they are switched on again.",
                    button="Switch off",
                    back=reverse("frontend:firm_people"),
                )
            people_services.person_deactivate(actor=request.user, user=person)
            done = f"{person.name} is switched off."
        elif action == "reactivate":
            people_services.person_reactivate(actor=request.user, user=person)
            done = f"{person.name} is switched on again."
        else:
            people_services.firm_role_change(
                actor=request.user, user=person, firm_role=form.cleaned_data["firm_role"]
            )
            done = f"{person.name} is now {person.get_firm_role_display().lower()}."
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("frontend:firm_people")
