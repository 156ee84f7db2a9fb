"""Previews and thumbnails: an image's thumbnail is made at upload, upright, without the
original's metadata, sealed like a version (its stored bytes are no picture); a broken or
oversized picture is stored without one. Both routes answer exactly as the download does:
every role against its own account's documents, another account's, privileged ones granted
and not, after a revoked grant, and anonymous; a preview is recorded as a view."""

from __future__ import annotations

import io
import json
import logging

import pytest
from PIL import Image, UnidentifiedImageError

from accounts import permissions
from accounts.services import privileged
from evidence.models import Entry
from tests import factories
from tests.factories import image_bytes, pdf_bytes
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services
from vault.models import AccessKind, AccessRecord, Thumbnail
from vault.services import thumbnails

pytestmark = pytest.mark.django_db

ROLES = factories.ROLES
SEES_ACCOUNT = {
    "acme": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "globex": {"firm_admin", "staff_off_team", "other_client"},
}
# (account, privileged, granted to the person under test)
CASES = {
    "own": ("acme", False, False),
    "other_account": ("globex", False, False),
    "privileged_granted": ("acme", True, True),
    "privileged_not_granted": ("acme", True, False),
}
MADE_UP = "ver_aaaaaaaaaaaaaaaaaaaaaaaa"
PICTURE = image_bytes(800, 400)


def preview_url(version_id: str) -> str:
    return f"/api/v1/vault/versions/{version_id}/preview"


def thumbnail_url(version_id: str) -> str:
    return f"/api/v1/vault/versions/{version_id}/thumbnail"


def may_see(role: str, case: str) -> bool:
    account, is_privileged, granted = CASES[case]
    return role in SEES_ACCOUNT[account] and (granted or not is_privileged)


def add_picture(actor, account, *, data: bytes = PICTURE, privileged: bool = False, **kwargs):
    return services.document_create(
        actor=actor,
        account=account,
        upload=sealed_upload(data, kwargs.pop("filename", "photo.png")),
        privileged=privileged,
        **kwargs,
    ).document


@pytest.fixture
def world(acme, globex, people):
    holder = factories.staff(accounts=(acme,), name="Gail Grantee")
    return {
        "own": add_picture(people["client_admin"], acme, title="Site photo"),
        "other_account": add_picture(people["other_client"], globex, title="Globex photo"),
        "privileged_granted": add_picture(holder, acme, privileged=True, title="Evidence A"),
        "privileged_not_granted": add_picture(holder, acme, privileged=True, title="Evidence B"),
    }


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_same_404(client, response, made_up_url: str) -> None:
    missing = client.get(made_up_url)
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert response.json()["error"]["code"] == "not_found"


# --- made at upload ---------------------------------------------------------------------------


def test_an_image_gets_a_thumbnail_sealed_like_its_version(client, world, people):
    version = world["own"].latest_version
    thumbnail = Thumbnail.objects.get(version=version)
    assert (thumbnail.width, thumbnail.height) == (320, 160)
    stored = (web.storage_root() / thumbnail.storage_name).read_bytes()
    assert stored.startswith(b"ATRV")
    assert thumbnail.public_id.encode() in stored[:64]
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(stored))
    client.force_login(people["client_member"])
    response = client.get(thumbnail_url(version.public_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "private, no-cache"
    shown = picture(response.content)
    assert shown.format == "WEBP"
    assert shown.size == (320, 160)


def test_the_thumbnail_is_upright_and_keeps_no_metadata(acme, people):
    # A camera's landscape picture, stored sideways with "rotate 90° clockwise" in EXIF.
    data = image_bytes(400, 200, fmt="JPEG", orientation=6)
    assert b"Atrium Test Camera" in data
    document = add_picture(people["staff_on_team"], acme, data=data, filename="cam.jpg")
    version = document.latest_version
    thumbnail = Thumbnail.objects.get(version=version)
    assert (thumbnail.width, thumbnail.height) == (160, 320)
    made = services.thumbnail_read(actor=people["client_member"], version=version)
    assert b"Atrium Test Camera" not in made
    shown = picture(made)
    assert shown.size == (160, 320)
    assert dict(shown.getexif()) == {}
    assert "exif" not in shown.info and "icc_profile" not in shown.info


def test_a_transparent_picture_keeps_its_transparency(acme, people):
    data = image_bytes(64, 64, mode="RGBA", colour=(0, 0, 0, 0))
    document = add_picture(people["staff_on_team"], acme, data=data)
    made = services.thumbnail_read(actor=people["staff_on_team"], version=document.latest_version)
    assert picture(made).mode == "RGBA"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(image_bytes(8000, 8000, mode="1"), id="decompression_bomb"),
        pytest.param(image_bytes(40, 40)[:60] + b"\x00" * 200, id="broken_png"),
    ],
)
def test_a_picture_that_cannot_be_thumbnailed_is_stored_without_one(acme, people, caplog, data):
    caplog.set_level(logging.INFO, logger="vault.services")
    document = add_picture(people["staff_on_team"], acme, data=data)
    version = document.latest_version
    assert version.size == len(data)
    assert not Thumbnail.objects.filter(version=version).exists()
    assert any("no thumbnail" in r.getMessage() for r in caplog.records)
    stored = {p.name for p in web.stored_objects()}
    assert stored == {version.storage_name.rsplit("/", 1)[-1]}


def test_other_files_get_no_thumbnail(acme, people):
    document = add_picture(people["staff_on_team"], acme, data=pdf_bytes(), filename="a.pdf")
    assert not Thumbnail.objects.exists()
    assert document.latest_version.content_type == "application/pdf"


def test_a_storage_failure_of_the_thumbnail_does_not_fail_the_upload(
    acme, people, monkeypatch, caplog
):
    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Thumbnail.objects, "create", refuse)
    document = add_picture(people["staff_on_team"], acme)
    assert document.latest_version.size == len(PICTURE)
    assert not Thumbnail.objects.exists()
    assert "could not be stored" in caplog.text
    # Only the version's object is left: the thumbnail's was removed again.
    assert len(web.stored_objects()) == 1


def test_a_new_version_gets_its_own_thumbnail(client, acme, people):
    document = add_picture(people["staff_on_team"], acme)
    client.force_login(people["staff_on_team"])
    response = web.new_version(
        client, document.public_id, image_bytes(200, 600), filename="taller.png"
    )
    assert response.status_code == 201, response.content
    assert response.json()["thumbnail_url"] == thumbnail_url(response.json()["id"])
    assert Thumbnail.objects.count() == 2
    shown = picture(client.get(response.json()["thumbnail_url"]).content)
    assert shown.size == (107, 320)


def test_the_resumable_upload_makes_a_thumbnail_too(client, acme, people):
    client.force_login(people["client_member"])
    done = web.parts_upload(
        client, {"account": acme.public_id, "filename": "photo.png"}, data=PICTURE
    )
    assert done.status_code == 201, done.content
    assert done.json()["version"]["thumbnail_url"] is not None
    assert Thumbnail.objects.count() == 1


def test_thumbnail_bytes_refuses_what_it_is_not_told(acme):
    with pytest.raises(thumbnails.ThumbnailRefused):
        thumbnails.thumbnail_bytes(PICTURE, "image/svg+xml")
    with pytest.raises(UnidentifiedImageError):
        # A PNG claimed to be a JPEG is not opened as anything else.
        thumbnails.thumbnail_bytes(PICTURE, "image/jpeg")


# --- who may see them ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_preview_and_thumbnail_answer_as_the_download_does(client, world, people, role):
    person = people[role]
    permissions.privileged_grant(world["privileged_granted"], person)
    client.force_login(person)
    for case, document in world.items():
        version = document.latest_version
        preview = client.get(preview_url(version.public_id))
        thumbnail = client.get(thumbnail_url(version.public_id))
        if may_see(role, case):
            assert preview.status_code == 200, (role, case)
            assert web.body(preview) == PICTURE
            assert preview["Content-Disposition"].startswith("inline")
            assert preview["Content-Security-Policy"] == "default-src 'none'; sandbox"
            assert thumbnail.status_code == 200, (role, case)
        else:
            assert_same_404(client, preview, preview_url(MADE_UP))
            assert_same_404(client, thumbnail, thumbnail_url(MADE_UP))
            for response in (preview, thumbnail):
                assert document.title.encode() not in response.content


def test_anonymous_gets_nothing(client, world):
    version = world["own"].latest_version
    for url in (preview_url(version.public_id), thumbnail_url(version.public_id)):
        response = client.get(url)
        assert response.status_code in (401, 403), url
        assert PICTURE not in response.content


@pytest.mark.parametrize("role", ["client_member", "staff_on_team"])
def test_a_revoked_grant_closes_preview_and_thumbnail_at_once(client, world, people, role):
    document = world["privileged_granted"]
    version = document.latest_version
    person = people[role]
    permissions.privileged_grant(document, person)
    client.force_login(person)
    assert client.get(thumbnail_url(version.public_id)).status_code == 200
    privileged.item_revoke(actor=None, item=document, user=person)
    assert_same_404(client, client.get(preview_url(version.public_id)), preview_url(MADE_UP))
    assert_same_404(client, client.get(thumbnail_url(version.public_id)), thumbnail_url(MADE_UP))


# --- what a preview records ------------------------------------------------------------------


def test_a_preview_is_recorded_as_a_view(client, world, people):
    version = world["own"].latest_version
    client.force_login(people["client_member"])
    web.body(client.get(preview_url(version.public_id)))
    record = AccessRecord.objects.filter(user=people["client_member"]).get()
    assert (record.kind, record.outcome, record.version_id) == ("view", "complete", version.pk)
    assert record.bytes_sent == len(PICTURE)
    # An ordinary document's thumbnail is not an access worth a line each time a list shows.
    client.get(thumbnail_url(version.public_id))
    assert AccessRecord.objects.filter(user=people["client_member"]).count() == 1
    assert not Entry.objects.exists()


def test_a_privileged_preview_and_thumbnail_are_views_on_the_ledger(client, world, people):
    document = world["privileged_granted"]
    version = document.latest_version
    reader = people["client_member"]
    permissions.privileged_grant(document, reader)
    client.force_login(reader)
    web.body(client.get(preview_url(version.public_id)))
    client.get(thumbnail_url(version.public_id))
    kinds = list(
        AccessRecord.objects.filter(user=reader).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == [AccessKind.VIEW, AccessKind.VIEW]
    entries = [
        json.loads(e) for e in Entry.objects.order_by("index").values_list("canonical", flat=True)
    ]
    assert [e["kind"] for e in entries] == ["document.viewed", "document.viewed"]
    assert {e["content_sha256"] for e in entries} == {version.sha256}


def test_a_file_the_browser_should_not_show_has_no_preview(client, acme, people):
    staff = people["staff_on_team"]
    html = add_picture(staff, acme, data=b"<script>alert(1)</script>\n", filename="x.html")
    client.force_login(staff)
    response = client.get(preview_url(html.latest_version.public_id))
    assert response.status_code == 400
    assert web.error_code(response) == "no_preview"
    assert not AccessRecord.objects.filter(kind=AccessKind.VIEW).exists()
    thumbnail = client.get(thumbnail_url(html.latest_version.public_id))
    assert thumbnail.status_code == 404


def test_a_pdf_preview_streams_the_decrypted_file(client, acme, people):
    data = pdf_bytes(3)
    document = add_picture(people["staff_on_team"], acme, data=data, filename="plan.pdf")
    client.force_login(people["client_member"])
    response = client.get(preview_url(document.latest_version.public_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert web.body(response) == data


def test_the_api_names_preview_and_thumbnail(client, world, people):
    client.force_login(people["client_member"])
    listed = client.get(web.list_url(world["own"].account))
    [own] = [d for d in listed.json()["documents"] if d["id"] == world["own"].public_id]
    version = own["latest_version"]
    assert version["preview_url"] == preview_url(version["id"])
    assert version["thumbnail_url"] == thumbnail_url(version["id"])
    # Fields are only ever added: the old ones are all still there.
    assert {"sha256", "content_type", "size", "filename", "download_url"} <= set(version)


def test_the_command_makes_the_thumbnails_of_earlier_pictures(acme, people):
    from io import StringIO

    from django.core.management import call_command

    staff = people["staff_on_team"]
    earlier = add_picture(staff, acme, title="Before thumbnails")
    broken = add_picture(staff, acme, data=image_bytes(40, 40)[:60] + b"\x00" * 200)
    add_picture(staff, acme, data=b"notes\n", filename="notes.txt")
    old = Thumbnail.objects.get(version=earlier.latest_version)
    (web.storage_root() / old.storage_name).unlink()
    old.delete()

    out = StringIO()
    call_command("vault_thumbnails", stdout=out)
    assert out.getvalue().strip() == "Made 1 thumbnail(s); 1 picture(s) left without one."
    made = Thumbnail.objects.get(version=earlier.latest_version)
    assert made.public_id != old.public_id
    shown = picture(services.thumbnail_read(actor=staff, version=earlier.latest_version))
    assert shown.size == (320, 160)
    assert not Thumbnail.objects.filter(version=broken.latest_version).exists()

    call_command("vault_thumbnails", stdout=out)  # again: nothing left to make
    assert out.getvalue().strip().endswith("Made 0 thumbnail(s); 1 picture(s) left without one.")
    assert Thumbnail.objects.count() == 1


def test_the_document_list_api_costs_the_same_with_more_thumbnails(client, acme, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = people["client_member"]
    add_picture(member, acme, title="Photo 0")
    client.force_login(member)

    def queries() -> int:
        client.get(web.list_url(acme))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(web.list_url(acme))
        assert response.status_code == 200
        return len(captured)

    one = queries()
    for n in range(1, 8):
        add_picture(member, acme, data=image_bytes(50 + n, 40), title=f"Photo {n}")
    assert queries() == one
    listed = client.get(web.list_url(acme)).json()["documents"]
    assert all(d["latest_version"]["thumbnail_url"] for d in listed)
