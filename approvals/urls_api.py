from django.urls import path

from approvals import api, api_signatures

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
    path("signatures", api_signatures.signatures, name="signatures"),
    path("signatures/<str:signature_id>", api_signatures.signature, name="signature"),
    path("signatures/<str:signature_id>/sign", api_signatures.sign, name="signature_sign"),
    path("signatures/<str:signature_id>/approve", api_signatures.approve, name="signature_approve"),
    path("signatures/<str:signature_id>/decline", api_signatures.decline, name="signature_decline"),
    path("signatures/<str:signature_id>/void", api_signatures.void, name="signature_void"),
    path("signatures/<str:signature_id>/viewed", api_signatures.viewed, name="signature_viewed"),
    path(
        "signatures/<str:signature_id>/document", api_signatures.document, name="signature_document"
    ),
    path(
        "signatures/<str:signature_id>/certificate",
        api_signatures.certificate,
        name="signature_certificate",
    ),
    path("signatures/<str:signature_id>/signed", api_signatures.signed, name="signature_signed"),
    path(
        "signatures/<str:signature_id>/evidence", api_signatures.evidence, name="signature_evidence"
    ),
]
