"""The full-text structure of the index, in the database's own terms (``search.backends``):
a generated tsvector column with a GIN index on PostgreSQL, an FTS5 table kept in step by
triggers on SQLite."""

from django.db import migrations

POSTGRESQL = [
    (
        """
        ALTER TABLE search_entry ADD COLUMN vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
            || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
            || setweight(to_tsvector('english'::regconfig, coalesce(extracted, '')), 'C')
        ) STORED
        """,
        "ALTER TABLE search_entry DROP COLUMN vector",
    ),
    (
        "CREATE INDEX search_entry_vector ON search_entry USING gin (vector)",
        "DROP INDEX IF EXISTS search_entry_vector",
    ),
]

SQLITE = [
    (
        """
        CREATE VIRTUAL TABLE search_entry_fts USING fts5(
            title, body, extracted,
            content='search_entry', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        "DROP TABLE IF EXISTS search_entry_fts",
    ),
    (
        """
        CREATE TRIGGER search_entry_fts_insert AFTER INSERT ON search_entry BEGIN
            INSERT INTO search_entry_fts (rowid, title, body, extracted)
            VALUES (new.id, new.title, new.body, new.extracted);
        END
        """,
        "DROP TRIGGER IF EXISTS search_entry_fts_insert",
    ),
    (
        """
        CREATE TRIGGER search_entry_fts_delete AFTER DELETE ON search_entry BEGIN
            INSERT INTO search_entry_fts (search_entry_fts, rowid, title, body, extracted)
            VALUES ('delete', old.id, old.title, old.body, old.extracted);
        END
        """,
        "DROP TRIGGER IF EXISTS search_entry_fts_delete",
    ),
    (
        """
        CREATE TRIGGER search_entry_fts_update AFTER UPDATE ON search_entry BEGIN
            INSERT INTO search_entry_fts (search_entry_fts, rowid, title, body, extracted)
            VALUES ('delete', old.id, old.title, old.body, old.extracted);
            INSERT INTO search_entry_fts (rowid, title, body, extracted)
            VALUES (new.id, new.title, new.body, new.extracted);
        END
        """,
        "DROP TRIGGER IF EXISTS search_entry_fts_update",
    ),
]

STATEMENTS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def forwards(apps, schema_editor):
    for create, _ in STATEMENTS.get(schema_editor.connection.vendor, []):
        schema_editor.execute(create)


def backwards(apps, schema_editor):
    for _, drop in reversed(STATEMENTS.get(schema_editor.connection.vendor, [])):
        schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_index")]

    operations = [migrations.RunPython(forwards, backwards)]
