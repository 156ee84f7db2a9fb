"""``/api/v1/vault/`` endpoints (``docs/api.md``). Session-authenticated with CSRF; errors are
JSON with stable codes; missing and forbidden are the same 404.

Uploads are parsed by ``SealingUploadHandler``, which must be installed before anything
reads the body, so those views are exempt from the CSRF middleware (it would read the body
first) and check CSRF themselves once the handler is in place.
"""

from __future__ import annotations

import io
import logging

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.errors import Forbidden, Invalid
from accounts.http import api_endpoint, client_meta, json_error, refuse_nul, request_fields
from messaging import services as messaging_services
from vault import selectors, services, sessions
from vault.uploads import FIELD, SealingUploadHandler, body_over_limit, too_large_message

log = logging.getLogger(__name__)


def _flag(value: object) -> bool:
    """A form's or a JSON object's yes: true, or "1", "true", "yes", "on"."""
    return value is True or (
        isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}
    )


def _asked_flag(data, name: str) -> bool | None:
    """``_flag`` of a field, or None where the request does not name it (or leaves it empty,
    as a form's field left blank)."""
    value = data.get(name)
    return None if value is None or value == "" else _flag(value)


def _created(added: services.Added) -> JsonResponse:
    """The document just stored, with the version that came with it."""
    return JsonResponse(
        {
            **selectors.document_json(added.document),
            "version": selectors.version_json(added.version),
        },
        status=201,
    )


# --- reading -------------------------------------------------------------------------------


@api_endpoint("GET", "POST")
def documents(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _upload(request, _create_document)
    account = permissions.account_for(request.user, request.GET.get("account", ""))
    folder = services.folder_in(request.user, account, request.GET.get("folder") or None)
    page = selectors.documents_page(
        request.user,
        account,
        folder=folder,
        cursor=request.GET.get("cursor"),
        limit=account_selectors.page_limit(request.GET.get("limit")),
    )
    links = selectors.VersionLinks()
    return JsonResponse(
        {
            "account": account.public_id,
            "folders": [
                selectors.folder_json(f) for f in selectors.folders_of(request.user, account)
            ],
            "documents": [selectors.document_json(d, links=links) for d in page.documents],
            "next": page.next,
        }
    )


@api_endpoint("GET")
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    document = services.document_for(request.user, document_id)
    services.record_view(actor=request.user, document=document, meta=client_meta(request))
    data = selectors.document_json(document, versions=selectors.versions_of(document))
    if selectors.can_see_access_log(request.user, document):
        data["access_log_url"] = f"/api/v1/vault/documents/{document.public_id}/access"
    return JsonResponse(data)


@api_endpoint("GET")
def document_access(request: HttpRequest, document_id: str) -> HttpResponse:
    document = services.document_for(request.user, document_id)
    if not selectors.can_see_access_log(request.user, document):
        raise Forbidden("Only the firm's staff on this account see the access history.")
    return JsonResponse(
        {"document": document.public_id, "accesses": selectors.access_log(document)}
    )


@api_endpoint("POST")
def folders(request: HttpRequest) -> HttpResponse:
    data = request_fields(request)
    account = permissions.account_for(request.user, data.get("account", ""))
    parent = services.folder_in(request.user, account, data.get("parent") or None)
    folder = services.folder_create(
        actor=request.user, account=account, name=data.get("name", ""), parent=parent
    )
    return JsonResponse(selectors.folder_json(folder), status=201)


# --- uploads --------------------------------------------------------------------------------


def _upload(request: HttpRequest, then) -> HttpResponse:
    """Refuse an oversized body before reading it, install the sealing handler, check CSRF,
    then hand the sealed file to ``then``. Whatever happens, no spool file outlives this."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and body_over_limit(int(declared)):
        log.info("vault upload refused before reading: %s bytes declared", declared)
        return json_error("too_large", too_large_message(), 413)
    if not request.content_type or request.content_type != "multipart/form-data":
        return json_error("bad_upload", "Send the file as multipart/form-data.", 400)
    handler = SealingUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        return csrf_protect(lambda req: _parsed(req, handler, then))(request)
    except MultiPartParserError as error:
        # The CSRF check reads the form first, so a malformed body can surface here.
        log.info("vault upload refused: malformed body (%s)", error)
        return json_error("bad_upload", "The upload's body is malformed.", 400)
    finally:
        handler.cleanup()


def _parsed(request: HttpRequest, handler: SealingUploadHandler, then) -> HttpResponse:
    try:
        request.POST  # noqa: B018 - parses the body through the handler
        upload = request.FILES.get(FIELD)
    except MultiPartParserError as error:
        log.info("vault upload refused: malformed body (%s)", error)
        return json_error("bad_upload", "The upload's body is malformed.", 400)
    if handler.refused is not None:
        log.info("vault upload refused: %s", handler.refused.code)
        status = 413 if handler.refused.code == "too_large" else 415
        return json_error(handler.refused.code, handler.refused.message, status)
    try:
        # The other fields arrived beside the file; the sealed file goes with a refusal.
        refuse_nul(request.POST)
        if upload is None:
            return json_error("bad_upload", "Attach the file as the 'file' field.", 400)
        return then(request, upload)
    finally:
        if upload is not None:
            upload.close()


def _target_account(request: HttpRequest) -> str:
    """The ``account`` form field, or the ``account`` query parameter: given there, it is known
    before the body is read, so a sender who may not upload to it is refused unread. Given
    in both places, the two must agree."""
    field, query = request.POST.get("account", ""), request.GET.get("account", "")
    if field and query and field != query:
        raise Invalid(
            "The account in the address and in the form differ.", fields={"account": "invalid"}
        )
    return field or query


def _create_document(request: HttpRequest, upload) -> HttpResponse:
    account = permissions.account_for(request.user, _target_account(request))
    folder = services.folder_in(request.user, account, request.POST.get("folder") or None)
    added = services.document_create(
        actor=request.user,
        account=account,
        upload=upload,
        title=request.POST.get("title", ""),
        description=request.POST.get("description", ""),
        folder=folder,
        matter_id=request.POST.get("matter") or None,
        privileged=_asked_flag(request.POST, "privileged"),
        request_meta=client_meta(request),
    )
    return _created(added)


@csrf_exempt
@api_endpoint("POST")
def document_versions(request: HttpRequest, document_id: str) -> HttpResponse:
    # Look the document up before reading the body: a stranger's upload is not parsed.
    document = services.document_for(request.user, document_id)

    def add(req: HttpRequest, upload) -> HttpResponse:
        added = services.version_add(
            actor=req.user, document=document, upload=upload, request_meta=client_meta(req)
        )
        return JsonResponse(selectors.version_json(added.version), status=201)

    return _upload(request, add)


documents = csrf_exempt(documents)


# --- uploads in parts (resumable; how the browser sends files) ----------------------------


@api_endpoint("POST")
def uploads(request: HttpRequest) -> HttpResponse:
    data = request_fields(request)
    document = None
    account = None
    thread = None
    if data.get("thread"):
        thread = messaging_services.thread_for(request.user, str(data["thread"]))
        account = thread.account
        # The thread decides where the file goes; a request that says otherwise is refused.
        if data.get("document"):
            raise Invalid(
                "A file shared in a conversation is a new document; leave document out.",
                code="thread_mismatch",
                fields={"document": "thread_mismatch"},
            )
        if data.get("account") and str(data["account"]) != account.public_id:
            raise Invalid(
                "A file shared in a conversation belongs to the conversation's client; "
                "leave account out.",
                code="thread_mismatch",
                fields={"account": "thread_mismatch"},
            )
    elif data.get("document"):
        document = services.document_for(request.user, str(data["document"]))
        account = document.account
    else:
        account = permissions.account_for(request.user, str(data.get("account") or ""))
    folder_id = data.get("folder")
    folder = services.folder_in(request.user, account, str(folder_id) if folder_id else None)
    session = sessions.upload_open(
        actor=request.user,
        account=account,
        document=document,
        filename=data.get("filename"),
        size=data.get("size"),
        title=data.get("title", ""),
        description=data.get("description", ""),
        folder=folder,
        matter_id=str(data["matter"]) if data.get("matter") else None,
        privileged=_asked_flag(data, "privileged"),
        thread=thread,
        note=data.get("note", ""),
    )
    return JsonResponse(sessions.session_json(session), status=201)


@api_endpoint("GET", "PUT", "DELETE")
def upload_detail(request: HttpRequest, upload_id: str) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(sessions.session_json(sessions.upload_for(request.user, upload_id)))
    if request.method == "DELETE":
        sessions.upload_abort(actor=request.user, session_id=upload_id)
        return HttpResponse(status=204)
    read = request.read
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit():
        length = int(declared)
    else:
        # No length given (chunked): a part is small, so take it whole, one byte past the
        # largest part so that an oversized one is still refused.
        body = io.BytesIO(request.read(sessions.PART_BYTES + 1))
        length, read = len(body.getbuffer()), body.read
    session = sessions.upload_part(
        actor=request.user,
        session_id=upload_id,
        offset=request.GET.get("offset", ""),
        length=length,
        read=read,
    )
    return JsonResponse(sessions.session_json(session))


@api_endpoint("POST")
def upload_complete(request: HttpRequest, upload_id: str) -> HttpResponse:
    return _created(
        sessions.upload_complete(
            actor=request.user, session_id=upload_id, meta=client_meta(request)
        )
    )


# --- downloads ------------------------------------------------------------------------------


class _AsyncChunks:
    """Serve a synchronous download under ASGI one chunk at a time (Django would otherwise
    read a synchronous iterator to the end before sending anything)."""

    def __init__(self, chunks):
        self._iterator = iter(chunks)

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        chunk = await sync_to_async(next, thread_sensitive=True)(self._iterator, None)
        if chunk is None:
            raise StopAsyncIteration
        return chunk


def _streamed(request: HttpRequest, download: services.Download, *, attachment: bool):
    """A version's plaintext as it is decrypted, never run or embedded by the browser as
    a page of its own (``sandbox``)."""
    version = download.version
    content = _AsyncChunks(download) if isinstance(request, ASGIRequest) else iter(download)
    response = StreamingHttpResponse(content, content_type=version.content_type)
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition_header(attachment, version.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Atrium-SHA256"] = version.sha256
    return response


@api_endpoint("GET")
def version_download(request: HttpRequest, version_id: str) -> HttpResponse:
    version = services.version_for(request.user, version_id)
    download = services.download_open(
        actor=request.user, version=version, meta=client_meta(request)
    )
    return _streamed(request, download, attachment=True)


@api_endpoint("GET")
def version_preview(request: HttpRequest, version_id: str) -> HttpResponse:
    """The version inline, for the document page's preview (a PDF or an image)."""
    version = services.version_for(request.user, version_id)
    preview = services.preview_open(actor=request.user, version=version, meta=client_meta(request))
    return _streamed(request, preview, attachment=False)


@api_endpoint("GET")
def version_thumbnail(request: HttpRequest, version_id: str) -> HttpResponse:
    version = services.version_for(request.user, version_id)
    data = services.thumbnail_read(actor=request.user, version=version, meta=client_meta(request))
    response = HttpResponse(data, content_type=services.THUMBNAIL_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    # Private to the person, and asked again each time: a revoked grant hides it at once.
    response["Cache-Control"] = "private, no-cache"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- who may see a privileged document ------------------------------------------------------


@api_endpoint("GET", "POST")
def document_grants(request: HttpRequest, document_id: str) -> HttpResponse:
    document = services.document_for(request.user, document_id)
    if request.method == "GET":
        return JsonResponse(selectors.document_grants_json(request.user, document))
    person = account_selectors.user_by_public_id(request_fields(request).get("user"))
    created = services.document_grant(actor=request.user, document=document, user=person)
    return JsonResponse(
        selectors.grantee_json(person, with_email=True), status=201 if created else 200
    )


@api_endpoint("DELETE")
def document_grant_detail(request: HttpRequest, document_id: str, user_id: str) -> HttpResponse:
    document = services.document_for(request.user, document_id)
    services.document_revoke(
        actor=request.user, document=document, user=account_selectors.user_by_public_id(user_id)
    )
    return HttpResponse(status=204)
