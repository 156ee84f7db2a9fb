from django.urls import path

from approvals import api

urlpatterns = [
    path("approvals", api.approvals, name="approvals"),
    path("approvals/<str:approval_id>", api.approval_detail, name="approval"),
    path("approvals/<str:approval_id>/decisions", api.decisions, name="decisions"),
    path("approvals/<str:approval_id>/withdraw", api.withdraw, name="withdraw"),
    path("approvals/<str:approval_id>/evidence", api.evidence_bundle, name="evidence"),
    path(
        "approvals/<str:approval_id>/versions/<str:version_id>/viewed",
        api.version_viewed,
        name="viewed",
    ),
    path(
        "approvals/<str:approval_id>/versions/<str:version_id>/download",
        api.version_download,
        name="download",
    ),
]
