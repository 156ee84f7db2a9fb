from django.db import migrations

from evidence import triggers


def install(apps, schema_editor):
    connection = schema_editor.connection
    triggers.execute(connection, triggers.install_sql(connection.vendor))


def remove(apps, schema_editor):
    connection = schema_editor.connection
    triggers.execute(connection, triggers.remove_sql(connection.vendor))


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_ledger_tables")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
