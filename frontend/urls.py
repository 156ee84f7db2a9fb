from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invite/<str:token>/", views.invitation_page, name="invitation"),
    path("clients/<str:account_id>/", views.account_page, name="account"),
    path("clients/<str:account_id>/invite/", views.account_invite, name="account_invite"),
    path("clients/<str:account_id>/matters/", views.matter_create, name="matter_create"),
    path("clients/<str:account_id>/threads/", views.thread_create, name="thread_create"),
    path("clients/<str:account_id>/vault/", views.vault_page, name="vault"),
    path(
        "clients/<str:account_id>/approvals/",
        views.account_approvals,
        name="account_approvals",
    ),
    path("approvals/", views.approvals_index, name="approvals"),
    path("approvals/<str:approval_id>/", views.approval_page, name="approval"),
    path("approvals/<str:approval_id>/decide/", views.approval_decide, name="approval_decide"),
    path(
        "approvals/<str:approval_id>/withdraw/", views.approval_withdraw, name="approval_withdraw"
    ),
    path(
        "clients/<str:account_id>/vault/folders/",
        views.vault_folder_create,
        name="vault_folder_create",
    ),
    path("vault/documents/<str:document_id>/", views.document_page, name="document"),
    path(
        "vault/documents/<str:document_id>/access/",
        views.document_grants,
        name="document_grants",
    ),
    path(
        "invitations/<str:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("matters/<str:matter_id>/", views.matter_page, name="matter"),
    path("matters/<str:matter_id>/access/", views.matter_access, name="matter_access"),
    path("threads/", views.thread_index, name="threads"),
    path("threads/<str:thread_id>/", views.thread_page, name="thread"),
    path("settings/branding/", views.branding_page, name="branding"),
    path("settings/branding/documents/", views.firm_document_rules, name="firm_document_rules"),
    path("brand/logo", views.firm_logo, name="logo"),
]
