"""``/api/v1/evidence/`` endpoints."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.http import api_endpoint
from evidence import keys


@api_endpoint("GET")
def key(request: HttpRequest) -> JsonResponse:
    """The public key that signs the ledger's checkpoints and bundles, for every signed-in
    user: what a client verifies evidence with."""
    return JsonResponse(keys.public_key_info())
