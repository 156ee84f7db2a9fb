from django.db import migrations


def open_general_threads(apps, schema_editor):
    """Accounts opened before messaging existed get their General thread too."""
    ClientAccount = apps.get_model("accounts", "ClientAccount")
    Thread = apps.get_model("messaging", "Thread")
    from messaging.models import thread_public_id

    for account in ClientAccount.objects.exclude(threads__is_general=True):
        Thread.objects.create(account=account, title="General", is_general=True, public_id=thread_public_id())


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_threads_messages_events"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(open_general_threads, migrations.RunPython.noop)]
