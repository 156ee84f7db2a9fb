"""Helpers for the vault's HTTP tests: the API's addresses, uploads sent the way a browser or
a script sends them, downloads read to the end, and a look at what the vault left on disk."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.http import parse_header_parameters

from accounts.models import ClientAccount
from vault import crypto

CHUNK = crypto.DEFAULT_CHUNK_BYTES
DOCUMENTS = "/api/v1/vault/documents"
FOLDERS = "/api/v1/vault/folders"
BOUNDARY = "atrium-test-boundary-7c1f"


def document_url(document_id: str) -> str:
    return f"{DOCUMENTS}/{document_id}"


def versions_url(document_id: str) -> str:
    return f"{DOCUMENTS}/{document_id}/versions"


def access_url(document_id: str) -> str:
    return f"{DOCUMENTS}/{document_id}/access"


def download_url(version_id: str) -> str:
    return f"/api/v1/vault/versions/{version_id}/download"


def list_url(account: ClientAccount | str, folder: str | None = None) -> str:
    account_id = account if isinstance(account, str) else account.public_id
    return f"{DOCUMENTS}?account={account_id}" + (f"&folder={folder}" if folder else "")


def content(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that look random (so no chunk repeats another) and are the same on
    every run."""
    return random.Random(seed or size).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(
    client,
    account: ClientAccount | str,
    data: bytes = b"Minutes of the kick-off meeting.\n",
    *,
    filename: str = "minutes.txt",
    content_type: str = "text/plain",
    extra: dict | None = None,
    **fields,
):
    """POST a new document as a multipart form, with ``fields`` beside ``account``;
    ``extra`` goes to the test client (``REMOTE_ADDR``, ``HTTP_USER_AGENT``)."""
    account_id = account if isinstance(account, str) else account.public_id
    form = {"account": account_id, **fields}
    form["file"] = SimpleUploadedFile(filename, data, content_type=content_type)
    return client.post(DOCUMENTS, form, **(extra or {}))


def attachment(data: bytes, filename: str = "minutes-v2.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(filename, data, content_type="text/plain")


def new_version(client, document_id: str, data: bytes, *, filename: str = "minutes-v2.txt"):
    return client.post(versions_url(document_id), {"file": attachment(data, filename)})


def multipart(
    fields: dict[str, str], *, disposition: str, data: bytes, content_type: str = "text/plain"
) -> bytes:
    """A multipart body written out by hand, for file names the test client would not send:
    ``disposition`` is the file part's parameters after ``form-data; name="file"; ``."""
    lines = []
    for name, value in fields.items():
        lines.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = "".join(lines) + (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def body(response) -> bytes:
    """Everything a (streaming) response sends, read to the end."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def error_code(response) -> str:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]["code"]


def disposition_filename(header: str) -> str:
    """The file name a browser takes from a Content-Disposition header."""
    kind, params = parse_header_parameters(header)
    assert kind == "attachment", header
    return params["filename"]


def storage_root() -> Path:
    return Path(settings.STORAGES["vault"]["OPTIONS"]["location"])


def stored_objects() -> list[Path]:
    root = storage_root()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def spooled() -> list[Path]:
    return sorted(p for p in Path(settings.ATRIUM_VAULT_SPOOL_DIR).rglob("*") if p.is_file())


def stored_object(version_id: str) -> Path:
    from vault.models import Version

    return storage_root() / Version.objects.get(public_id=version_id).storage_name


UPLOADS = "/api/v1/vault/uploads"


def parts_upload(client, fields: dict, data: bytes = b"Minutes of the meeting.\n"):
    """Send ``data`` through an upload session opened with ``fields`` (JSON; ``filename`` and
    ``size`` are filled in): the first answer that is not a success, else the completion's."""
    from vault.sessions import PART_BYTES

    opened = client.post(
        UPLOADS,
        json.dumps({"filename": "minutes.txt", "size": len(data), **fields}),
        content_type="application/json",
    )
    if opened.status_code != 201:
        return opened
    upload_id = opened.json()["id"]
    for offset in range(0, max(len(data), 1), PART_BYTES):
        sent = client.put(
            f"{UPLOADS}/{upload_id}?offset={offset}",
            data[offset : offset + PART_BYTES],
            content_type="application/octet-stream",
        )
        if sent.status_code != 200:
            return sent
    return client.post(f"{UPLOADS}/{upload_id}/complete")
