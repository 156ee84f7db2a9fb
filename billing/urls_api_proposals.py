from django.urls import path

from billing import api_proposals as api

urlpatterns = [
    path("proposals", api.proposals, name="proposals"),
    path("proposals/<str:proposal_id>", api.proposal, name="proposal"),
    path("proposals/<str:proposal_id>/send", api.send, name="send"),
    path("proposals/<str:proposal_id>/withdraw", api.withdraw, name="withdraw"),
    path("proposals/<str:proposal_id>/accept", api.accept, name="accept"),
    path("proposals/<str:proposal_id>/decline", api.decline, name="decline"),
    path("proposals/<str:proposal_id>/content", api.content, name="content"),
    path("proposals/<str:proposal_id>/evidence", api.evidence_bundle, name="evidence"),
]
