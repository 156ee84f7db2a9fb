from django.contrib import admin
from django.urls import include, path

from config.content_security import csp_report

admin.site.site_header = "Atrium administration"
admin.site.site_title = "Atrium admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("security/csp-report/", csp_report, name="csp_report"),
    path("api/v1/vault/", include(("vault.urls_api", "vault_api"), namespace="vault_api")),
    path(
        "api/v1/evidence/",
        include(("evidence.urls_api", "evidence_api"), namespace="evidence_api"),
    ),
    path("evidence/", include("evidence.urls")),
    path("api/v1/", include(("approvals.urls_api", "approvals_api"), namespace="approvals_api")),
    path("api/v1/", include(("search.urls_api", "search_api"), namespace="search_api")),
    path("api/v1/", include(("projects.urls_api", "projects_api"), namespace="projects_api")),
    path(
        "api/v1/",
        include(
            ("billing.urls_api_payments", "billing_payments_api"),
            namespace="billing_payments_api",
        ),
    ),
    path(
        "api/v1/",
        include(
            ("billing.urls_api_proposals", "billing_proposals_api"),
            namespace="billing_proposals_api",
        ),
    ),
    path("api/v1/", include(("billing.urls_api", "billing_api"), namespace="billing_api")),
    path("api/v1/", include(("support.urls_api", "support_api"), namespace="support_api")),
    path("api/v1/", include(("accounts.urls_api", "api"), namespace="api")),
    path("api/v1/", include(("insights.urls_api", "insights_api"), namespace="insights_api")),
    path(
        "api/v1/",
        include(("messaging.urls_api", "messaging_api"), namespace="messaging_api"),
    ),
    path("", include("billing.urls_online")),
    path("", include("frontend.urls")),
]

handler400 = "frontend.errors.bad_request"
handler403 = "frontend.errors.permission_denied"
handler404 = "frontend.errors.not_found"
handler500 = "frontend.errors.server_error"
