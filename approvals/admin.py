"""Approval requests in the Django admin: read-only, for firm admins (the admin's
superusers) to look into the data when something needs repairing. Every change to a request
goes through ``approvals.services``, which records it in the evidence ledger: a change made
here would not be, so nothing can be added, changed or deleted here."""

from __future__ import annotations

from django.contrib import admin

from approvals.models import ApprovalRequest, Approver, Decision, RequestVersion, ViewReceipt


class ReadOnly(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApproverInline(admin.TabularInline):
    model = Approver
    fields = ["user", "position"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class BoundInline(ApproverInline):
    model = RequestVersion
    fields = ["round", "version", "position"]
    readonly_fields = fields


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnly):
    list_display = [
        "title",
        "account",
        "status",
        "round",
        "policy",
        "required",
        "due",
        "created_at",
    ]
    list_filter = ["status", "policy"]
    search_fields = ["public_id", "title", "account__name"]
    list_select_related = ["account"]
    inlines = [ApproverInline, BoundInline]


@admin.register(Decision)
class DecisionAdmin(ReadOnly):
    list_display = ["public_id", "request", "approver", "round", "verdict", "decided_at"]
    list_filter = ["verdict"]
    search_fields = ["public_id", "request__public_id", "approver__email"]
    list_select_related = ["request", "approver"]


@admin.register(ViewReceipt)
class ViewReceiptAdmin(ReadOnly):
    list_display = ["request", "user", "version", "sha256", "first_seen_at"]
    search_fields = ["request__public_id", "user__email", "sha256"]
    list_select_related = ["request", "user", "version"]
