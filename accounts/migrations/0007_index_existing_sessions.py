"""Index the sessions already signed in when the session index arrives, so that listing
and ending a person's sessions finds them too."""

import hashlib

from django.conf import settings
from django.db import migrations
from django.utils import timezone

_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}


def index_sessions(apps, schema_editor):
    if settings.SESSION_ENGINE not in _ENGINES:
        return
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    User = apps.get_model("accounts", "User")
    SignedInSession = apps.get_model("accounts", "SignedInSession")
    from accounts.ids import session_public_id

    store = SessionStore()
    now = timezone.now()
    users = set(User.objects.values_list("pk", flat=True))
    batch = []
    for session in Session.objects.filter(expire_date__gt=now).iterator(chunk_size=500):
        try:
            user_pk = int(store.decode(session.session_data).get("_auth_user_id"))
        except (TypeError, ValueError):
            continue
        if user_pk not in users:
            continue
        batch.append(
            SignedInSession(
                public_id=session_public_id(),
                user_id=user_pk,
                key_digest=hashlib.sha256(session.session_key.encode()).hexdigest(),
                signed_in_at=now,
                last_seen_at=now,
            )
        )
        if len(batch) >= 500:
            SignedInSession.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    SignedInSession.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_signed_in_session"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(index_sessions, migrations.RunPython.noop)]
