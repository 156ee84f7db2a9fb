"""Portal pages. Thin: parse input, call a service or selector, render."""

from frontend.views.accounts import (
    LoginView,
    LogoutView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
    account_invite,
    account_page,
    branding_page,
    firm_logo,
    home,
    invitation_page,
    invitation_revoke,
    matter_access,
    matter_create,
    matter_page,
)
from frontend.views.approvals import (
    account_approvals,
    approval_decide,
    approval_page,
    approval_withdraw,
    approvals_index,
)
from frontend.views.search import search_page
from frontend.views.threads import thread_create, thread_index, thread_page
from frontend.views.vault import document_grants, document_page, vault_folder_create, vault_page

__all__ = [
    "LoginView",
    "LogoutView",
    "PasswordResetCompleteView",
    "PasswordResetConfirmView",
    "PasswordResetDoneView",
    "PasswordResetView",
    "account_approvals",
    "account_invite",
    "account_page",
    "approval_decide",
    "approval_page",
    "approval_withdraw",
    "approvals_index",
    "branding_page",
    "document_grants",
    "document_page",
    "firm_logo",
    "home",
    "invitation_page",
    "invitation_revoke",
    "matter_access",
    "matter_create",
    "matter_page",
    "search_page",
    "thread_create",
    "thread_index",
    "thread_page",
    "vault_folder_create",
    "vault_page",
]
