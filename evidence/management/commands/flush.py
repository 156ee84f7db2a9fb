"""``manage.py flush`` empties the whole database, the evidence ledger included.

Django's flush DELETEs every row on SQLite, which the ledger's triggers refuse. Here, on
SQLite, the triggers are dropped, the database emptied and the triggers created again in one
transaction: if anything fails, nothing is emptied and the triggers stay. PostgreSQL's flush
uses TRUNCATE, which fires no row trigger, so it runs unchanged. Django's test runner calls
this command after every transactional test."""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections, transaction

from evidence import triggers


class Command(flush.Command):
    help = (
        "Removes ALL DATA from the database, the evidence ledger included, including data "
        "added during migrations."
    )

    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        if options["interactive"]:
            answer = input(
                f"This empties every table of the database {connection.settings_dict['NAME']!r}, "
                "the evidence ledger included, for good.\nType 'yes' to go on: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return None
        with transaction.atomic(using=database):
            triggers.execute(connection, triggers.remove_sql("sqlite"))
            super().handle(**{**options, "interactive": False})
            triggers.execute(connection, triggers.install_sql("sqlite"))
        return None
