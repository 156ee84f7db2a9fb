"""The phrases a firm starts with (its admins change them on the metrics page)."""

from django.db import migrations

PHRASES = (
    "where are we",
    "any update",
    "any updates",
    "any news",
    "status update",
    "what is the status",
    "what's the status",
    "progress update",
    "how is it going",
    "is it done",
)


def add_defaults(apps, schema_editor):
    StatusPhrase = apps.get_model("insights", "StatusPhrase")
    StatusPhrase.objects.bulk_create(
        [StatusPhrase(phrase=p) for p in PHRASES], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_login_events_and_status_phrases")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
