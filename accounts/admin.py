"""The Django admin, for firm admins only.

Nobody sets another person's password here, and a person's grants are neither shown nor
changed on their user page (``UserAdmin``).

Writes that carry rules (memberships, team assignments) go through the services so the
guardian grants stay in step with the data. Object permissions can be inspected and edited
per object, but only by firm admins: guardian's plain ``GuardedModelAdmin`` would let any
admin user with change permission on a model edit everyone's object permissions on it.
"""

from __future__ import annotations

import logging

import django.contrib.auth.admin  # noqa: F401  (registers Group, unregistered below)
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from guardian.admin import ReinforcedGuardedModelAdminMixin

from accounts import permissions
from accounts.errors import AtriumError, Conflict, Forbidden
from accounts.models import (
    ClientAccount,
    Firm,
    Invitation,
    Matter,
    Membership,
    TeamAssignment,
    User,
)
from accounts.services import client_accounts as account_services
from accounts.services import matters as matter_services
from accounts.services import passwords as password_services
from accounts.services import privileged as privileged_services
from accounts.services import users as user_services
from accounts.services.users import checked_email

log = logging.getLogger(__name__)

# Groups belong to client accounts (members, client admins, team) and are filled and emptied
# by memberships and team assignments; edited by hand they would grant what the data does
# not say.
admin.site.unregister(Group)


class FirmAdminOnlyObjectPermissions(ReinforcedGuardedModelAdminMixin):
    """Object-permission pages reachable by firm admins alone, on top of guardian's own
    checks for its permission models."""

    def _require_firm_admin(self, request) -> None:
        if not permissions.can_manage_firm(request.user):
            raise PermissionDenied

    def obj_perms_manage_view(self, request, object_pk):
        self._require_firm_admin(request)
        return super().obj_perms_manage_view(request, object_pk)

    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        self._require_firm_admin(request)
        return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        self._require_firm_admin(request)
        return super().obj_perms_manage_group_view(request, object_pk, group_id)


class UserAddForm(forms.ModelForm):
    """A new person: who they are and their firm role. No password: they choose their own
    through the link they are mailed (``accounts.services.users.user_add``)."""

    class Meta:
        model = User
        fields = ["email", "name", "firm_role"]

    def clean_email(self) -> str:
        try:
            email = checked_email(self.cleaned_data.get("email", ""))
        except AtriumError as error:
            raise forms.ValidationError(error.message) from None
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("Someone already uses that e-mail address.")
        return email


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """People, without their passwords or grants.

    Deliberately not Django's ``UserAdmin``: that one sets passwords (on the add form and at
    ``<id>/password/``) and edits groups and permissions. Here nobody sets another person's
    password: an admin may force a reset, which ends the person's sessions and mails them a
    link. Grants follow memberships and team assignments (the client account pages) and
    privileged grants are given by their holders in the portal, so none are shown here. The
    address is fixed once the account exists: moving it to a mailbox the admin reads, then
    forcing a reset, would be setting the password by another road.
    """

    ordering = ["name", "email"]
    list_display = ["email", "name", "firm_role", "is_active", "date_joined"]
    list_filter = ["firm_role", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["public_id", "email", "sign_in", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["public_id", "email", "name", "sign_in"]}),
        ("Role", {"fields": ["firm_role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "name", "firm_role"]})]
    add_form = UserAddForm
    change_form_template = "admin/accounts/user/change_form.html"
    actions = ["force_password_reset"]

    @admin.display(description="Password")
    def sign_in(self, obj: User) -> str:
        if obj.has_usable_password():
            return "Set by its owner."
        return "Not set: waiting for the owner to choose one through an e-mailed link."

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            deactivated = "is_active" in form.changed_data and not obj.is_active
            obj.save()
            if deactivated:
                user_services.user_deactivate(user=obj)
            return
        created = user_services.user_add(
            actor=request.user,
            email=form.cleaned_data["email"],
            name=form.cleaned_data["name"],
            firm_role=form.cleaned_data["firm_role"],
        )
        obj.pk, obj.public_id, obj.password = created.pk, created.public_id, created.password
        obj._state.adding = False
        obj._state.db = created._state.db
        self.message_user(
            request,
            f"{created.email} was mailed a link to choose their password.",
            messages.SUCCESS,
        )

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/force-password-reset/",
                self.admin_site.admin_view(self.force_password_reset_view),
                name=f"{prefix}_force_password_reset",
            ),
            # Where Django's user admin sets passwords: named, so that it answers 404
            # instead of falling through to the change page's redirect.
            path(
                "<path:object_id>/password/",
                self.admin_site.admin_view(self.no_password_view),
            ),
            *super().get_urls(),
        ]

    def no_password_view(self, request, object_id):
        log.warning(
            "%s asked for the password page of user %s, which does not exist",
            request.user.public_id,
            object_id,
        )
        raise Http404("Passwords are set by their owners only.")

    def _force_reset(self, request, user: User) -> None:
        try:
            ended = password_services.password_reset_force(actor=request.user, user=user)
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        self.log_change(
            request,
            user,
            f"Forced a password reset ({ended} session{'s' if ended != 1 else ''} ended).",
        )

    @admin.action(description="Force a password reset (ends their sessions, mails a link)")
    def force_password_reset(self, request, queryset):
        users = list(queryset)
        for user in users:
            self._force_reset(request, user)
        self.message_user(
            request,
            f"Reset the password of {len(users)} {'person' if len(users) == 1 else 'people'}: "
            "signed out everywhere and mailed a link to choose a new one.",
            messages.SUCCESS,
        )

    def force_password_reset_view(self, request, object_id):
        user = self.get_object(request, unquote(object_id))
        if user is None or not self.has_change_permission(request, user):
            raise Http404
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[user.pk],
            current_app=self.admin_site.name,
        )
        if request.method == "POST":
            self._force_reset(request, user)
            self.message_user(
                request,
                f"{user.email} is signed out everywhere and was mailed a link to choose "
                "a new password.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": user,
            "change_url": change_url,
            "title": "Force a password reset",
        }
        return TemplateResponse(request, "admin/accounts/user/force_password_reset.html", context)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TeamFormSet(forms.BaseInlineFormSet):
    """Refuses, as a form error, taking off the team the last person at the firm granted one
    of the account's privileged items (``client_accounts.team_unassign`` refuses it too)."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            leaving = form.instance.user if form.instance.pk else None
            if leaving is None:
                continue
            replaced = form.cleaned_data.get("user") not in (None, leaving)
            if not (form.cleaned_data.get("DELETE") or replaced):
                continue
            try:
                privileged_services.leaving_check(user=leaving, account=self.instance)
            except Conflict as refusal:
                raise forms.ValidationError(refusal.message) from None


class TeamAssignmentInline(admin.TabularInline):
    model = TeamAssignment
    formset = TeamFormSet
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(ClientAccount)
class ClientAccountAdmin(FirmAdminOnlyObjectPermissions, admin.ModelAdmin):
    change_form_template = "admin/guardian/model/change_form.html"
    list_display = ["name", "slug", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    readonly_fields = ["public_id", "created_at"]
    fields = ["public_id", "name", "slug", "status", "created_at"]
    inlines = [TeamAssignmentInline, MembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            # A status change goes through the service: suspending shuts the client's people
            # out, lifting it lets them back in.
            status = obj.status
            if "status" in form.changed_data:
                obj.status = form.initial["status"]
            obj.save()
            if obj.status != status:
                account_services.client_account_set_status(
                    actor=request.user, account=obj, status=status
                )
            return
        created = account_services.client_account_create(
            actor=request.user, name=obj.name, slug=obj.slug
        )
        obj.pk, obj.public_id = created.pk, created.public_id
        obj.members_group_id, obj.admins_group_id, obj.team_group_id = (
            created.members_group_id,
            created.admins_group_id,
            created.team_group_id,
        )
        if obj.status != created.status:
            obj.save(update_fields=["status"])

    def save_formset(self, request, form, formset, change):
        """Route inline memberships and team assignments through the services, so the
        grants that follow them are made and withdrawn with them."""
        account = form.instance
        instances = formset.save(commit=False)
        for removed in formset.deleted_objects:
            if isinstance(removed, Membership):
                account_services.membership_remove(
                    actor=request.user, account=account, user=removed.user
                )
            else:
                account_services.team_unassign(
                    actor=request.user, account=account, user=removed.user
                )
        for item in instances:
            if isinstance(item, Membership):
                if item.pk:
                    previous = Membership.objects.get(pk=item.pk)
                    if previous.user_id != item.user_id:
                        account_services.membership_remove(
                            actor=request.user, account=account, user=previous.user
                        )
                account_services.membership_add(
                    actor=request.user, account=account, user=item.user, role=item.role
                )
            else:
                if item.pk:
                    previous = TeamAssignment.objects.get(pk=item.pk)
                    if previous.user_id != item.user_id:
                        account_services.team_unassign(
                            actor=request.user, account=account, user=previous.user
                        )
                account_services.team_assign(
                    actor=request.user,
                    account=account,
                    user=item.user,
                    title=item.title,
                    lead=item.lead,
                )
        formset.save_m2m()


@admin.register(Matter)
class MatterAdmin(FirmAdminOnlyObjectPermissions, admin.ModelAdmin):
    change_form_template = "admin/guardian/model/change_form.html"
    list_display = ["title", "account", "status", "privileged", "updated_at"]
    list_filter = ["status", "privileged"]
    search_fields = ["title", "account__name"]
    readonly_fields = ["public_id", "created_by", "created_at", "updated_at"]

    def get_queryset(self, request):
        # The ethical wall holds here too: a privileged matter is listed only to its grantees.
        return permissions.visible_items(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        # Whether a matter is walled, and whose it is, decide who sees it: moving it to
        # another client or lifting the wall here would show it to people never granted it.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "account", "privileged"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if not change:
            # Through the service: a privileged matter starts granted to whoever opens it, so
            # that someone at the firm always sees and manages it.
            created = matter_services.matter_create(
                actor=request.user,
                account=obj.account,
                title=obj.title,
                description=obj.description,
                status=obj.status,
                privileged=obj.privileged,
            )
            obj.pk, obj.public_id, obj.created_by = created.pk, created.public_id, request.user
            obj._state.adding = False
            return
        # A status change goes through the service, which tells the people following it.
        status = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if obj.status != status:
            matter_services.matter_set_status(actor=request.user, matter=obj, status=status)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "account",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "account__name"]
    readonly_fields = [
        "public_id",
        "account",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    ]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request):
        # Invitations are sent from the account page, which e-mails the link.
        return False


@admin.register(Firm)
class FirmAdmin(admin.ModelAdmin):
    list_display = ["name", "support_email", "updated_at"]

    def has_add_permission(self, request):
        return not Firm.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
