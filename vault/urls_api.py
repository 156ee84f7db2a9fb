from django.urls import path

from vault import api

urlpatterns = [
    path("documents", api.documents, name="documents"),
    path("documents/<str:document_id>", api.document_detail, name="document"),
    path("documents/<str:document_id>/versions", api.document_versions, name="versions"),
    path("documents/<str:document_id>/access", api.document_access, name="access"),
    path("documents/<str:document_id>/access-grants", api.document_grants, name="grants"),
    path(
        "documents/<str:document_id>/access-grants/<str:user_id>",
        api.document_grant_detail,
        name="grant",
    ),
    path("folders", api.folders, name="folders"),
    path("uploads", api.uploads, name="uploads"),
    path("uploads/<str:upload_id>", api.upload_detail, name="upload"),
    path("uploads/<str:upload_id>/complete", api.upload_complete, name="upload_complete"),
    path("versions/<str:version_id>/download", api.version_download, name="download"),
    path("versions/<str:version_id>/preview", api.version_preview, name="preview"),
    path("versions/<str:version_id>/thumbnail", api.version_thumbnail, name="thumbnail"),
]
