"""A person's own profile: name, time zone and the avatar's re-encoding."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.errors import Invalid
from accounts.services import profile
from tests import factories

pytestmark = pytest.mark.django_db


def image_upload(fmt="JPEG", size=(400, 300), name="me.jpg", extra=b"") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (10, 120, 200))
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x010F] = "Secret camera maker"  # Make
        image.save(buffer, format=fmt, exif=exif.tobytes())
    else:
        image.save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue() + extra, content_type="image/jpeg")


def test_avatar_is_re_encoded_as_a_square_png_with_a_random_name(
    django_capture_on_commit_callbacks,
):
    person = factories.user()
    profile.avatar_set(user=person, upload=image_upload(name="../../etc/passwd.jpg"))
    person.refresh_from_db()
    name = person.avatar.name
    assert name.startswith("avatars/") and name.endswith(".png")
    assert "passwd" not in name and len(name.split("/")[-1]) == len("0" * 32 + ".png")
    with person.avatar.open("rb") as handle:
        data = handle.read()
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "PNG"
        assert stored.size == (profile.AVATAR_SIZE, profile.AVATAR_SIZE)
        assert "exif" not in stored.info
    assert b"Secret camera maker" not in data
    # A second upload gets another random name, and the first file is gone.
    with django_capture_on_commit_callbacks(execute=True):
        profile.avatar_set(user=person, upload=image_upload(fmt="PNG", name="x.png"))
    person.refresh_from_db()
    assert person.avatar.name != name
    assert not person.avatar.storage.exists(name)


def test_two_people_uploading_the_same_file_name_get_different_stored_names():
    a, b = factories.user(), factories.user()
    profile.avatar_set(user=a, upload=image_upload(name="face.jpg"))
    profile.avatar_set(user=b, upload=image_upload(name="face.jpg"))
    assert a.avatar.name != b.avatar.name


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not an image at all", "not_an_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not_an_image"),
    ],
)
def test_what_is_not_a_raster_image_is_refused_and_nothing_written(content, code):
    person = factories.user()
    with pytest.raises(Invalid) as caught:
        profile.avatar_set(user=person, upload=SimpleUploadedFile("a.png", content))
    assert caught.value.fields == {"avatar": code}
    person.refresh_from_db()
    assert not person.avatar


def test_a_picture_over_two_megabytes_is_refused():
    person = factories.user()
    big = SimpleUploadedFile("big.png", b"\x00" * (profile.AVATAR_MAX_BYTES + 1))
    with pytest.raises(Invalid) as caught:
        profile.avatar_set(user=person, upload=big)
    assert caught.value.fields == {"avatar": "too_large"}


def test_a_decompression_bomb_is_refused():
    from tests.frontend.test_branding import huge_png_header

    person = factories.user()
    with pytest.raises(Invalid) as caught:
        profile.avatar_set(user=person, upload=SimpleUploadedFile("b.png", huge_png_header()))
    assert caught.value.fields == {"avatar": "not_an_image"}


def test_removing_the_avatar_deletes_the_file(django_capture_on_commit_callbacks):
    person = factories.user()
    profile.avatar_set(user=person, upload=image_upload())
    name = person.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        profile.avatar_remove(user=person)
    person.refresh_from_db()
    assert not person.avatar
    assert not person.avatar.storage.exists(name)


def test_profile_update_checks_every_field_before_writing_any():
    person = factories.user(name="Ada Lovelace")
    with pytest.raises(Invalid) as caught:
        profile.profile_update(user=person, name="Ada Byron", time_zone="Mars/Olympus_Mons")
    assert caught.value.fields == {"time_zone": "invalid"}
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Ada Lovelace", "")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "   "}, {"name": "required"}),
        ({"name": "x" * 151}, {"name": "too_long"}),
        ({"name": 7}, {"name": "invalid"}),
        ({"time_zone": "Europe/Nowhere"}, {"time_zone": "invalid"}),
        ({"time_zone": ["Europe/Paris"]}, {"time_zone": "invalid"}),
    ],
)
def test_bad_profile_fields_are_named(fields, error):
    person = factories.user()
    with pytest.raises(Invalid) as caught:
        profile.profile_update(user=person, **fields)
    assert caught.value.fields == error


def test_profile_update_writes_one_line_name_and_zone():
    person = factories.user()
    profile.profile_update(user=person, name="  Grace \n Hopper ", time_zone="America/New_York")
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Grace Hopper", "America/New_York")
    profile.profile_update(user=person, time_zone="")
    person.refresh_from_db()
    assert person.time_zone == ""


def test_a_pictures_address_reaches_what_others_see_of_the_person():
    """Frames and answers show a person through one shape: once they have a picture, a
    message's author carries its address, and a new picture gets a new address."""
    import json
    import uuid

    from accounts.selectors import person_json
    from messaging import services as messaging_services
    from messaging.models import Event

    acme = factories.account("Acme")
    person = factories.client(acme, name="Pat Puffin")
    assert person_json(person)["avatar"] is None
    profile.avatar_set(user=person, upload=image_upload())
    first = person_json(person)["avatar"]
    assert first.startswith(f"/people/{person.public_id}/avatar?v=")

    thread = messaging_services.thread_ensure_general(account=acme)
    sent = messaging_services.message_send(
        actor=person, thread_id=thread.public_id, client_id=uuid.uuid4(), body="Hello"
    )
    frame = json.loads(Event.objects.get(thread=thread, seq=sent.seq).frame)
    assert frame["message"]["author"]["avatar"] == first

    profile.avatar_set(user=person, upload=image_upload(size=(300, 300)))
    assert person_json(person)["avatar"] not in (None, first)
