"""The vault's JSON API: files go in and come back byte for byte, are stored sealed, are
typed by their bytes, and whatever is refused leaves nothing behind; the access log records
every view, download and upload; lists do not query per document."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import ClientAccount
from accounts.services.client_accounts import membership_add, team_assign
from tests import factories
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import api, keys, services
from vault.models import AccessKind, AccessOutcome, AccessRecord, Document, Version

CHUNK = web.CHUNK


@pytest.fixture
def staff(client, people):
    """The test client, signed in as staff on Acme's team."""
    client.force_login(people["staff_on_team"])
    return client


def created(response) -> dict:
    assert response.status_code == 201, response.content[:300]
    return response.json()


def nothing_stored() -> None:
    """No document, version or access row, and no file in the vault storage or the spool."""
    assert not Document.objects.exists()
    assert not Version.objects.exists()
    assert not AccessRecord.objects.exists()
    assert web.stored_objects() == []
    assert web.spooled() == []


# --- round trips ----------------------------------------------------------------------------

SIZES = {
    "empty": 0,
    "one_byte": 1,
    "one_chunk": CHUNK,
    "one_chunk_and_a_byte": CHUNK + 1,
    "several_chunks": 2 * CHUNK + 4321,
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_a_file_comes_back_byte_for_byte(client, people, acme, size):
    data = web.content(size)
    client.force_login(people["staff_on_team"])
    document = created(
        web.upload(client, acme, data, filename="ledger.bin", content_type="application/x-foo")
    )
    version = document["version"]
    assert version["number"] == 1
    assert version["size"] == size
    assert version["sha256"] == web.sha256(data)
    assert version["filename"] == "ledger.bin"
    assert document["version_count"] == 1
    assert document["latest_version"]["id"] == version["id"]
    assert document["title"] == "ledger.bin"  # the file name when no title is given

    # Someone else of the account reads it back.
    client.force_login(people["client_member"])
    response = client.get(version["download_url"])
    assert response.status_code == 200
    assert response.streaming
    assert web.body(response) == data
    assert response["Content-Length"] == str(size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Atrium-SHA256"] == web.sha256(data)
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    assert web.disposition_filename(response["Content-Disposition"]) == "ledger.bin"


# (what the client sends as the file part's parameters, the name the server keeps)
FILENAMES = {
    "path_traversal": ('filename="../../etc/passwd"', "passwd"),
    "windows_path": ('filename="C:\\\\Users\\\\sam\\\\report.pdf"', "report.pdf"),
    "quotes": ('filename="the \\"final\\" cut.txt"', 'the "final" cut.txt'),
    "newline": ("filename*=UTF-8''evil%0D%0AX-Injected%3A%201.txt", "evilX-Injected: 1.txt"),
    "non_ascii": (
        "filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%93%20%C3%A9t%C3%A9.pdf",
        "R\u00e9sum\u00e9 \u2013 \u00e9t\u00e9.pdf",
    ),
    "right_to_left_override": ("filename*=UTF-8''invoice%E2%80%AEfdp.exe", "invoicefdp.exe"),
    "hidden": ('filename=".bashrc"', "bashrc"),
    "slashes_everywhere": ('filename="a/b\\\\c/../d.txt"', "d.txt"),
}


@pytest.mark.parametrize("case", FILENAMES.values(), ids=FILENAMES.keys())
def test_the_server_names_the_download(staff, acme, case):
    disposition, expected = case
    body = web.multipart(
        {"account": acme.public_id}, disposition=disposition, data=b"plain words\n"
    )
    version = created(staff.post(web.DOCUMENTS, body, content_type=web.MULTIPART))["version"]
    kept = version["filename"]
    assert kept == expected
    assert not any(unsafe in kept for unsafe in ("/", "\\", "\x00", "\r", "\n"))
    assert not kept.startswith(".")

    response = staff.get(version["download_url"])
    assert web.body(response) == b"plain words\n"
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert "\r" not in header and "\n" not in header
    assert web.disposition_filename(header) == kept


def test_versions_are_numbered_and_each_stays_downloadable(staff, acme):
    contents = [b"first draft\n", web.content(CHUNK + 17), b""]
    document = created(web.upload(staff, acme, contents[0]))
    for number, data in enumerate(contents[1:], start=2):
        version = created(web.new_version(staff, document["id"], data))
        assert version["number"] == number
        assert version["size"] == len(data)
        assert version["sha256"] == web.sha256(data)

    detail = staff.get(web.document_url(document["id"])).json()
    assert detail["version_count"] == 3
    assert [v["number"] for v in detail["versions"]] == [3, 2, 1]
    assert detail["latest_version"]["number"] == 3
    for version in detail["versions"]:
        response = staff.get(version["download_url"])
        assert web.body(response) == contents[version["number"] - 1]
    listed = staff.get(web.list_url(acme)).json()["documents"]
    assert [(d["id"], d["version_count"]) for d in listed] == [(document["id"], 3)]


# --- what is stored ---------------------------------------------------------------------------

MARKER = b"PLAINTEXT-MARKER-8d0f2c"


def database_bytes() -> bytes:
    """Every value of every table, as bytes: what a dump of the database would show."""
    dump = io.BytesIO()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        dump.write(bytes(value))
                    else:
                        dump.write(str(value).encode())
                    dump.write(b"\x1f")
    return dump.getvalue()


def test_the_vault_stores_no_plaintext_no_file_name_and_no_plain_key(staff, acme):
    data = MARKER * ((2 * CHUNK) // len(MARKER))
    filename = "merger-plan-confidential.txt"
    version = created(web.upload(staff, acme, data, filename=filename))["version"]

    row = Version.objects.get(public_id=version["id"])
    stored = web.stored_object(version["id"])
    assert web.stored_objects() == [stored]
    assert web.spooled() == []
    sealed = stored.read_bytes()
    assert row.stored_size == len(sealed) > len(data)
    assert MARKER not in sealed
    assert MARKER[:8] not in sealed
    # The object's name says nothing about the file, its account or its uploader.
    path = str(stored.relative_to(web.storage_root()))
    for word in ("merger", "plan", "confidential", ".txt", acme.public_id, acme.slug):
        assert word not in path

    wrapped = bytes(row.wrapped_data_key)
    assert len(wrapped) == 40  # a 32-byte key, AES-key-wrapped
    data_key = keys.unwrap_data_key(keys.account_key(acme), wrapped, row.public_id)
    assert len(data_key) == 32
    assert data_key != wrapped[:32]
    dump = database_bytes()
    assert wrapped in dump  # the dump does hold the rows' bytes
    assert MARKER not in dump
    assert data_key not in dump
    assert data_key.hex().encode() not in dump


# --- bad input leaves nothing behind ----------------------------------------------------------


@pytest.fixture
def small_limit(settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 64 * 1024
    return settings.ATRIUM_VAULT_MAX_BYTES


def test_a_file_at_the_limit_is_taken(staff, acme, small_limit):
    assert created(web.upload(staff, acme, web.content(small_limit)))["version"]["size"] == (
        small_limit
    )


@pytest.mark.parametrize("over", [1, CHUNK], ids=["one_byte_over", "a_chunk_over"])
def test_a_file_over_the_limit_is_refused_and_leaves_nothing(staff, acme, small_limit, over):
    response = web.upload(staff, acme, web.content(small_limit + over))
    assert response.status_code == 413
    assert web.error_code(response) == "too_large"
    nothing_stored()


class Unreadable(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body was read")

    readinto = readline = read


@pytest.mark.parametrize("view", ["documents", "document_versions"])
def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(acme, people, view):
    document = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"one\n")
    ).document
    request = RequestFactory().generic(
        "POST",
        web.DOCUMENTS,
        CONTENT_TYPE=web.MULTIPART,
        CONTENT_LENGTH=str(10**12),
        **{"wsgi.input": Unreadable()},
    )
    request.user = people["staff_on_team"]
    if view == "documents":
        response = api.documents(request)
    else:
        response = api.document_versions(request, document.public_id)
    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "too_large"
    assert Version.objects.count() == 1


async def test_the_asgi_layer_refuses_a_declared_body_over_the_limit_unread(settings):
    from config.bodies import BodyLimitMiddleware

    settings.ATRIUM_VAULT_MAX_BYTES = 1000
    sent = []

    async def app(scope, receive, send):
        raise AssertionError("the application was called")

    async def receive():
        raise AssertionError("the body was read")

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/vault/documents",
        "headers": [(b"content-length", str(10**10).encode())],
    }
    await BodyLimitMiddleware(app)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "too_large"


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"PE\x00\x00"
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + bytes(48)
MACH_O_UNIVERSAL = b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + bytes(56)
JAVA_CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(56)  # the same magic, not a program

PROGRAMS = {
    "elf": (ELF, "tool"),
    "elf_past_the_sniffing_window": (ELF + web.content(300_000), "tool"),
    "pe": (PE, "setup.exe"),
    "pe_named_as_a_pdf": (PE + web.content(20_000), "invoice.pdf"),
    "mach_o": (MACH_O, "tool"),
    "mach_o_universal": (MACH_O_UNIVERSAL, "tool"),
}


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_programs_are_refused_and_leave_nothing(staff, acme, program):
    data, filename = program
    response = web.upload(
        staff, acme, data, filename=filename, content_type="application/octet-stream"
    )
    assert response.status_code == 415
    assert web.error_code(response) == "type_refused"
    nothing_stored()


def test_a_java_class_file_is_not_taken_for_a_program(staff, acme):
    version = created(web.upload(staff, acme, JAVA_CLASS, filename="Main.class"))["version"]
    assert version["content_type"] == "application/octet-stream"


def test_refused_versions_leave_the_document_as_it_was(staff, acme, small_limit):
    document = created(web.upload(staff, acme, b"first\n"))
    stored = web.stored_objects()
    for data, status in ((ELF, 415), (web.content(small_limit + 1), 413)):
        response = web.new_version(staff, document["id"], data)
        assert response.status_code == status
    assert web.new_version(staff, document["id"], b"").status_code == 201
    response = staff.post(web.versions_url(document["id"]), {"not_file": "x"})
    assert web.error_code(response) == "bad_upload"
    assert Version.objects.count() == 2
    assert len(web.stored_objects()) == 2
    assert set(stored) < set(web.stored_objects())
    assert web.spooled() == []


def _no_file(staff, acme):
    return staff.post(web.DOCUMENTS, {"account": acme.public_id, "title": "No file"})


def _not_multipart(staff, acme):
    return staff.post(web.DOCUMENTS, b"just bytes", content_type="application/octet-stream")


def _json_body(staff, acme):
    return staff.post(
        web.DOCUMENTS, {"account": acme.public_id, "file": "x"}, content_type="application/json"
    )


def _no_boundary(staff, acme):
    body = web.multipart({"account": acme.public_id}, disposition='filename="a.txt"', data=b"x")
    return staff.post(web.DOCUMENTS, body, content_type="multipart/form-data")


def _garbage(staff, acme):
    return staff.post(web.DOCUMENTS, web.content(5000), content_type=web.MULTIPART)


def _unterminated(staff, acme):
    body = web.multipart({"account": acme.public_id}, disposition='filename="a.txt"', data=b"x")
    closing = b"--\r\n"  # what makes the last boundary the closing one
    assert body.endswith(closing)
    return staff.post(web.DOCUMENTS, body[: -len(closing)], content_type=web.MULTIPART)


def _file_as_a_plain_field(staff, acme):
    body = (
        f'--{web.BOUNDARY}\r\nContent-Disposition: form-data; name="account"\r\n\r\n'
        f"{acme.public_id}\r\n"
        f'--{web.BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\n'
        f"not a file\r\n--{web.BOUNDARY}--\r\n"
    ).encode()
    return staff.post(web.DOCUMENTS, body, content_type=web.MULTIPART)


MALFORMED = {
    "no_file_field": _no_file,
    "not_multipart": _not_multipart,
    "json": _json_body,
    "multipart_without_boundary": _no_boundary,
    "garbage_body": _garbage,
    "unterminated_body": _unterminated,
    "file_sent_as_a_plain_field": _file_as_a_plain_field,
}


@pytest.mark.parametrize("send", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_uploads_are_bad_uploads(staff, acme, send):
    response = send(staff, acme)
    assert response.status_code == 400
    assert web.error_code(response) == "bad_upload"
    nothing_stored()


# case: (the fields sent beside the file, the field the error names)
INVALID_FIELDS = {
    "unknown_folder": ({"folder": "fld_aaaaaaaaaaaaaaaaaaaaaaaa"}, "folder"),
    "malformed_folder": ({"folder": "../etc"}, "folder"),
    "other_accounts_folder": ({"folder": "GLOBEX_FOLDER"}, "folder"),
    "other_accounts_matter": ({"matter": "GLOBEX_MATTER"}, "matter"),
    "unknown_matter": ({"matter": "mat_aaaaaaaaaaaaaaaaaaaaaaaa"}, "matter"),
    "title_too_long": ({"title": "t" * 201}, "title"),
    "description_too_long": ({"description": "d" * 2001}, "description"),
}


@pytest.mark.parametrize("who", ["firm_admin", "staff_on_team"])
@pytest.mark.parametrize("case", INVALID_FIELDS)
def test_invalid_fields_are_refused_and_leave_nothing(client, people, acme, globex, case, who):
    fields, named = INVALID_FIELDS[case]
    # Globex's folder and matter exist; the firm admin can see them, the staff member not.
    of_globex = {
        "GLOBEX_FOLDER": services.folder_create(
            actor=people["firm_admin"], account=globex, name="Globex only"
        ).public_id,
        "GLOBEX_MATTER": factories.matter(globex).public_id,
    }
    fields = {name: of_globex.get(value, value) for name, value in fields.items()}
    client.force_login(people[who])
    response = web.upload(client, acme, b"fine\n", **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert named in error["fields"]
    nothing_stored()


def test_a_title_of_200_characters_is_taken(staff, acme):
    assert created(web.upload(staff, acme, title="t" * 200))["title"] == "t" * 200


def test_folders_and_matters_of_the_account_are_taken(staff, acme, people):
    folder = created(staff.post(web.FOLDERS, {"account": acme.public_id, "name": "Contracts"}))
    child = created(
        staff.post(web.FOLDERS, {"account": acme.public_id, "name": "2026", "parent": folder["id"]})
    )
    assert child["parent"] == folder["id"]
    matter = factories.matter(acme)
    document = created(web.upload(staff, acme, folder=child["id"], matter=matter.public_id))
    assert (document["folder"], document["matter"]) == (child["id"], matter.public_id)
    listed = staff.get(web.list_url(acme, child["id"])).json()
    assert [d["id"] for d in listed["documents"]] == [document["id"]]
    assert {f["name"] for f in listed["folders"]} == {"Contracts", "2026"}
    assert staff.get(web.list_url(acme, folder["id"])).json()["documents"] == []
    taken = staff.post(web.FOLDERS, {"account": acme.public_id, "name": "Contracts"})
    assert (taken.status_code, web.error_code(taken)) == (409, "folder_exists")


# --- content type from the bytes ---------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TYPES = {
    # declared as, named, bytes, stored as
    "png_declared_html": ("text/html", "picture.html", PNG, "image/png"),
    "pdf_declared_html": ("text/html", "statement.html", PDF, "application/pdf"),
    "utf8_text": ("application/pdf", "notes", "Grüße, 東京 — ok\n".encode(), "text/plain"),
    "random_bytes_declared_text": (
        "text/plain",
        "blob.txt",
        b"\x00\x9f" + web.content(4096),
        "application/octet-stream",
    ),
}


@pytest.mark.parametrize("case", TYPES.values(), ids=TYPES.keys())
def test_the_content_type_comes_from_the_bytes(staff, acme, case):
    declared, filename, data, expected = case
    version = created(web.upload(staff, acme, data, filename=filename, content_type=declared))[
        "version"
    ]
    assert version["content_type"] == expected
    response = staff.get(version["download_url"])
    assert response["Content-Type"] == expected
    assert response["Content-Disposition"].startswith("attachment")
    assert web.body(response) == data


def test_html_is_served_as_an_attachment_in_a_sandbox(staff, acme):
    page = b"<!doctype html><script>alert(document.cookie)</script>\n"
    version = created(
        web.upload(staff, acme, page, filename="evil.html", content_type="text/html")
    )["version"]
    response = staff.get(version["download_url"])
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


# --- queries -----------------------------------------------------------------------------------


def _documents(account: ClientAccount, people: dict, count: int) -> None:
    folder = services.folder_create(
        actor=people["firm_admin"], account=account, name=f"Folder {count}"
    )
    matter = factories.matter(account)
    uploaders = [people["staff_on_team"], people["client_admin"], people["client_member"]]
    # Only the team marks documents privileged: a colleague does where a client would.
    colleague = factories.staff(accounts=(account,), name=f"Colleague {count}")
    for n in range(count):
        uploader = uploaders[n % len(uploaders)]
        privileged = n % 4 == 3
        if privileged and not uploader.is_firm_staff:
            uploader = colleague
        added = services.document_create(
            actor=uploader,
            account=account,
            upload=sealed_upload(b"n%d" % n),
            folder=folder if n % 2 else None,
            matter_id=matter.public_id if n % 3 == 0 else None,
            privileged=privileged,
        )
        services.version_add(
            actor=uploader, document=added.document, upload=sealed_upload(b"again")
        )


def count_list_queries(client, account) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(web.list_url(account))
    assert response.status_code == 200
    return len(queries), len(response.json()["documents"])


@pytest.mark.parametrize("who", ["firm_admin", "staff_on_team", "client_member"])
def test_listing_documents_does_not_query_per_document(client, people, who):
    small, large = factories.account("Small"), factories.account("Large")
    for account in (small, large):
        team_assign(actor=None, account=account, user=people["staff_on_team"])
        for person in ("client_admin", "client_member"):
            membership_add(actor=None, account=account, user=people[person], role="member")
    _documents(small, people, 1)
    _documents(large, people, 10)
    client.force_login(people[who])
    count_list_queries(client, small)  # the session and the like, cached from here on
    one, listed_small = count_list_queries(client, small)
    ten, listed_large = count_list_queries(client, large)
    assert listed_small == 1
    # Two of the ten are privileged: one uploaded by the staff member, one by a colleague.
    assert listed_large == {"firm_admin": 8, "staff_on_team": 9, "client_member": 8}[who]
    assert one == ten


# --- the access log ----------------------------------------------------------------------------

BROWSER = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Mozilla/5.0 (Atrium test)"}


def test_uploads_views_and_downloads_are_logged_with_address_and_agent(client, people, acme):
    client.force_login(people["client_member"])
    document = created(web.upload(client, acme, b"0123456789", extra=BROWSER))
    upload = AccessRecord.objects.get(kind=AccessKind.UPLOAD)
    assert (upload.user, upload.ip, upload.user_agent) == (
        people["client_member"],
        "203.0.113.9",
        "Mozilla/5.0 (Atrium test)",
    )
    assert upload.version.public_id == document["version"]["id"]

    detail = client.get(web.document_url(document["id"]), **BROWSER)
    assert "access_log_url" not in detail.json()
    view = AccessRecord.objects.get(kind=AccessKind.VIEW)
    assert (view.ip, view.user_agent) == ("203.0.113.9", "Mozilla/5.0 (Atrium test)")

    response = client.get(document["version"]["download_url"], **BROWSER)
    download = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert download.outcome == AccessOutcome.STARTED  # nothing has been sent yet
    assert web.body(response) == b"0123456789"
    download.refresh_from_db()
    assert download.outcome == AccessOutcome.COMPLETE
    assert download.bytes_sent == 10
    assert (download.ip, download.user_agent) == ("203.0.113.9", "Mozilla/5.0 (Atrium test)")

    forbidden = client.get(web.access_url(document["id"]))
    assert forbidden.status_code == 403
    assert web.error_code(forbidden) == "forbidden"

    client.force_login(people["staff_on_team"])
    detail = client.get(web.document_url(document["id"])).json()
    assert detail["access_log_url"] == web.access_url(document["id"])
    log = client.get(detail["access_log_url"])
    assert log.status_code == 200
    accesses = log.json()["accesses"]
    # Newest first: the staff member's own view, then the client's download, view, upload.
    assert [a["kind"] for a in accesses] == ["view", "download", "view", "upload"]
    assert accesses[0]["user"]["id"] == people["staff_on_team"].public_id
    assert accesses[1] == {
        "at": accesses[1]["at"],
        "kind": "download",
        "outcome": "complete",
        "detail": "",
        "user": {
            "id": people["client_member"].public_id,
            "name": people["client_member"].name,
            "initials": people["client_member"].initials,
            "avatar": None,
        },
        "version": 1,
        "version_id": document["version"]["id"],
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (Atrium test)",
        "bytes_sent": 10,
    }


def test_a_download_left_half_way_is_recorded_failed(staff, people, acme):
    data = web.content(3 * CHUNK)
    version_id = created(web.upload(staff, acme, data))["version"]["id"]
    reader = people["client_member"]
    download = services.download_open(
        actor=reader, version=services.version_for(reader, version_id)
    )
    chunks = iter(download)  # what the download view streams
    assert next(chunks) == data[:CHUNK]
    chunks.close()  # the client went away
    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert (record.user, record.outcome) == (reader, AccessOutcome.FAILED)
    assert record.detail == "the download was interrupted"
    assert record.bytes_sent == CHUNK


# --- the target account, named in the address -----------------------------------------------


def test_the_account_may_be_named_in_the_address_instead_of_the_form(staff, acme):
    form = {"file": web.attachment(b"Minutes.\n", "minutes.txt")}
    response = staff.post(f"{web.DOCUMENTS}?account={acme.public_id}", form)
    assert created(response)["account"] == acme.public_id


def test_the_account_in_the_address_and_the_form_must_agree(staff, acme, globex):
    response = web.upload(staff, acme, **{})
    assert response.status_code == 201
    form = {"account": acme.public_id, "file": web.attachment(b"Minutes.\n", "minutes.txt")}
    response = staff.post(f"{web.DOCUMENTS}?account={globex.public_id}", form)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"account": "invalid"}
    assert Document.objects.count() == 1
    same = staff.post(f"{web.DOCUMENTS}?account={acme.public_id}", form)
    assert created(same)["account"] == acme.public_id
