from django.urls import path

from frontend import views
from frontend.views.check import check_page

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
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
    path("check/", check_page, name="check"),
    path("clients/", views.clients_page, name="clients"),
    path("clients/<str:account_id>/", views.account_page, name="account"),
    path("clients/<str:account_id>/settings/", views.account_settings, name="account_settings"),
    path("clients/<str:account_id>/settings/name/", views.account_rename, name="account_rename"),
    path("clients/<str:account_id>/settings/status/", views.account_status, name="account_status"),
    path(
        "clients/<str:account_id>/settings/team/", views.account_team_add, name="account_team_add"
    ),
    path(
        "clients/<str:account_id>/settings/team/<str:user_id>/",
        views.account_team_change,
        name="account_team_change",
    ),
    path(
        "clients/<str:account_id>/settings/people/<str:user_id>/",
        views.account_person_change,
        name="account_person_change",
    ),
    path(
        "clients/<str:account_id>/settings/legal-hold/",
        views.account_legal_hold,
        name="account_legal_hold",
    ),
    path(
        "clients/<str:account_id>/settings/billing/",
        views.account_billing_details,
        name="account_billing_details",
    ),
    path("people/", views.firm_people, name="firm_people"),
    path("people/<str:user_id>/", views.firm_person, name="firm_person"),
    path("clients/<str:account_id>/invite/", views.account_invite, name="account_invite"),
    path("clients/<str:account_id>/matters/", views.matter_create, name="matter_create"),
    path("clients/<str:account_id>/threads/", views.thread_create, name="thread_create"),
    path("clients/<str:account_id>/vault/", views.vault_page, name="vault"),
    path(
        "clients/<str:account_id>/approvals/",
        views.account_approvals,
        name="account_approvals",
    ),
    # Billing: an account's, an invoice, the editor (drafts), the firm's receivables, a proposal.
    path("billing/", views.billing_home, name="billing"),
    path("clients/<str:account_id>/billing/", views.account_billing, name="account_billing"),
    path("invoices/new/", views.invoice_new, name="invoice_new"),
    path("invoices/<str:invoice_id>/", views.invoice_page, name="invoice"),
    path("invoices/<str:invoice_id>/edit/", views.invoice_edit, name="invoice_edit"),
    path("invoices/<str:invoice_id>/send/", views.invoice_send, name="invoice_send"),
    path("invoices/<str:invoice_id>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<str:invoice_id>/payments/", views.invoice_payment, name="invoice_payment"),
    path(
        "invoices/<str:invoice_id>/credit-notes/",
        views.invoice_credit_note,
        name="invoice_credit_note",
    ),
    path("receivables/", views.receivables, name="receivables"),
    # Adoption metrics (firm admins): the figures, the records behind them, the phrases.
    path("insights/", views.insights_page, name="insights"),
    path("insights/phrases/", views.insights_phrases, name="insights_phrases"),
    path(
        "insights/accounts/<str:account_id>/<str:kind>/",
        views.insights_records,
        name="insights_records",
    ),
    path("proposals/new/", views.proposal_new, name="proposal_new"),
    path("proposals/<str:proposal_id>/", views.proposal_page, name="proposal"),
    path("proposals/<str:proposal_id>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<str:proposal_id>/send/", views.proposal_send, name="proposal_send"),
    path(
        "proposals/<str:proposal_id>/withdraw/", views.proposal_withdraw, name="proposal_withdraw"
    ),
    path("proposals/<str:proposal_id>/accept/", views.proposal_accept, name="proposal_accept"),
    path("proposals/<str:proposal_id>/decline/", views.proposal_decline, name="proposal_decline"),
    path("approvals/", views.approvals_index, name="approvals"),
    path("approvals/<str:approval_id>/", views.approval_page, name="approval"),
    path("approvals/<str:approval_id>/decide/", views.approval_decide, name="approval_decide"),
    path(
        "approvals/<str:approval_id>/withdraw/", views.approval_withdraw, name="approval_withdraw"
    ),
    # E-signatures (docs/signatures.md, "Pages").
    path("signatures/", views.signatures_index, name="signatures"),
    path("signatures/<str:signature_id>/", views.signature_page, name="signature"),
    path("signatures/<str:signature_id>/sign/", views.signature_sign, name="signature_sign"),
    path(
        "signatures/<str:signature_id>/approve/",
        views.signature_approve,
        name="signature_approve",
    ),
    path(
        "signatures/<str:signature_id>/decline/",
        views.signature_decline,
        name="signature_decline",
    ),
    path("signatures/<str:signature_id>/void/", views.signature_void, name="signature_void"),
    path(
        "clients/<str:account_id>/signatures/",
        views.account_signatures,
        name="account_signatures",
    ),
    path(
        "vault/documents/<str:document_id>/signatures/new/",
        views.signature_new,
        name="signature_new",
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
    path(
        "clients/<str:account_id>/preview/<str:user_id>/",
        views.status_preview,
        name="status_preview",
    ),
    path("tasks/<str:task_id>/done/", views.task_tick, name="task_tick"),
    path("matters/<str:matter_id>/", views.matter_page, name="matter"),
    path("matters/<str:matter_id>/access/", views.matter_access, name="matter_access"),
    path("matters/<str:matter_id>/plan/", views.matter_plan, name="matter_plan"),
    path("matters/<str:matter_id>/milestones/", views.milestone_create, name="milestone_create"),
    path("milestones/<str:milestone_id>/", views.milestone_change, name="milestone_change"),
    path("matters/<str:matter_id>/tasks/", views.task_create, name="task_create"),
    path("tasks/<str:task_id>/", views.task_change, name="task_change"),
    # Support tickets (docs/support.md, "Pages").
    path("tickets/", views.tickets_index, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<str:ticket_id>/", views.ticket_page, name="ticket"),
    path("tickets/<str:ticket_id>/change/", views.ticket_change, name="ticket_change"),
    path("search/", views.search_page, name="search"),
    path("threads/", views.thread_index, name="threads"),
    path("threads/<str:thread_id>/", views.thread_page, name="thread"),
    path("settings/branding/", views.branding_page, name="branding"),
    path("settings/billing/", views.billing_settings_page, name="billing_settings"),
    # Support settings (docs/support.md, "Settings"): firm admins.
    path("settings/support/", views.support_settings, name="support_settings"),
    path(
        "settings/support/categories/<str:category_id>/",
        views.support_category,
        name="support_category",
    ),
    path(
        "settings/support/categories/<str:category_id>/action/",
        views.support_category_action,
        name="support_category_action",
    ),
    path("settings/support/queues/", views.support_queues, name="support_queues"),
    path("settings/support/queues/<str:queue_id>/", views.support_queue, name="support_queue"),
    path("settings/support/rules/", views.support_rules, name="support_rules"),
    path("settings/support/rules/<str:rule_id>/", views.support_rule, name="support_rule"),
    path(
        "settings/support/rules/<str:rule_id>/action/",
        views.support_rule_action,
        name="support_rule_action",
    ),
    path("settings/support/hours/", views.support_hours, name="support_hours"),
    path("settings/profile/", views.profile_page, name="profile"),
    path("settings/security/", views.security_page, name="security"),
    path(
        "settings/notifications/",
        views.notification_settings,
        name="notification_settings",
    ),
    path("settings/security/password/", views.password_change, name="password_change"),
    path("settings/security/two-factor/", views.two_factor_page, name="two_factor"),
    path(
        "settings/security/two-factor/confirm/",
        views.two_factor_confirm,
        name="two_factor_confirm",
    ),
    path(
        "settings/security/two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "settings/security/two-factor/disable/",
        views.two_factor_disable,
        name="two_factor_disable",
    ),
    path("settings/branding/two-factor/", views.firm_two_factor, name="firm_two_factor"),
    path(
        "settings/security/sessions/<str:session_id>/sign-out/",
        views.session_sign_out,
        name="session_sign_out",
    ),
    path(
        "settings/security/sessions/sign-out-others/",
        views.sessions_sign_out_others,
        name="sessions_sign_out_others",
    ),
    path("settings/branding/documents/", views.firm_document_rules, name="firm_document_rules"),
    path("brand/logo", views.firm_logo, name="logo"),
    # The firm's view of the work: the board of every client's matters.
    path("board/", views.board, name="board"),
    # The checklist templates matters start from: firm admins.
    path("templates/", views.templates_index, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<str:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<str:template_id>/delete/", views.template_delete, name="template_delete"),
    path("people/<str:user_id>/avatar", views.avatar, name="avatar"),
]
