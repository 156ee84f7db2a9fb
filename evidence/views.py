"""Pages of the evidence app: the standalone verifier, for download."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

VERIFIER = Path(__file__).resolve().parent / "verify.py"


@login_required
@require_GET
def verifier_download(request: HttpRequest) -> FileResponse:
    """``evidence/verify.py`` as it is: one file, standard library and ``cryptography`` only,
    that checks a bundle offline (docs/ledger.md)."""
    return FileResponse(
        VERIFIER.open("rb"), as_attachment=True, filename="verify.py", content_type="text/x-python"
    )
