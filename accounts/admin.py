"""The Django admin, for firm admins only.

Writes that carry rules (memberships, team assignments) go through the services so the
guardian grants stay in step with the data. Object permissions can be inspected and edited
per object, but only by firm admins: guardian's plain ``GuardedModelAdmin`` would let any
admin user with change permission on a model edit everyone's object permissions on it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from guardian.admin import ReinforcedGuardedModelAdminMixin

from accounts import permissions
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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["name", "email"]
    list_display = ["email", "name", "firm_role", "is_active", "date_joined"]
    list_filter = ["firm_role", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["public_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["public_id", "email", "name", "password"]}),
        ("Role", {"fields": ["firm_role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "firm_role", "password1", "password2"],
            },
        )
    ]
    filter_horizontal = []


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TeamAssignmentInline(admin.TabularInline):
    model = TeamAssignment
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
            obj.save()
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
                    actor=request.user, account=account, user=item.user, title=item.title
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

    def save_model(self, request, obj, form, change):
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
