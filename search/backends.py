"""Full-text search in the database the deployment runs on, behind one interface.

PostgreSQL: a generated ``tsvector`` column over title (weight A), body (B) and extracted
text (C) with a GIN index, matched with ``websearch_to_tsquery``, ranked with ``ts_rank`` and
shown with ``ts_headline``. SQLite: an FTS5 table over the same columns kept in step by
triggers, ranked with ``bm25`` (title counts most) and shown with ``snippet``. Both are
created by ``search/migrations/0002_full_text.py``. ``backend()`` picks the one for
``connection.vendor``.

A search gets the SQL of the rows the caller may see (``search.selectors``) and returns the
page of hits asked for, in one query. Snippets come back with the matches between
``MARK_START`` and ``MARK_END``, characters the index never holds (``search.indexing``
removes control characters), so the page can escape everything else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.db import connection

from search.query import Query, fts5_expression, websearch_text

MARK_START = "\x02"
MARK_END = "\x03"
TEXT_SEARCH_CONFIG = "english"
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class Hit:
    entry_pk: int
    kind: str
    public_id: str
    title: str
    label: str
    url: str
    account_public_id: str | None
    person_pk: int | None
    snippet: str


_COLUMNS = "e.id, e.kind, e.public_id, e.title, e.label, e.url, a.public_id, e.person_id"


class Backend(ABC):
    """One database's full-text search: each backend writes the one statement."""

    vendor = ""

    def search(
        self, query: Query, permitted: tuple[str, tuple], *, limit: int, offset: int
    ) -> list[Hit]:
        """The hits of ``query`` among the rows whose ids ``permitted`` (SQL and its
        parameters) selects, best first, ``limit`` from ``offset``."""
        if not query.searchable:
            return []
        sql, params = self.statement(query, permitted, limit=limit, offset=offset)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [Hit(*row) for row in rows]

    @abstractmethod
    def statement(self, query, permitted, *, limit, offset) -> tuple[str, list]:
        """The SQL and parameters of one search: the columns of ``Hit``, in order."""


class SQLiteBackend(Backend):
    vendor = "sqlite"

    def statement(self, query, permitted, *, limit, offset):
        permitted_sql, permitted_params = permitted
        sql = f"""
            SELECT {_COLUMNS},
                   snippet(search_entry_fts, -1, %s, %s, '…', {SNIPPET_WORDS})
            FROM search_entry_fts
            JOIN search_entry e ON e.id = search_entry_fts.rowid
            LEFT JOIN accounts_clientaccount a ON a.id = e.account_id
            WHERE search_entry_fts MATCH %s AND e.id IN ({permitted_sql})
            ORDER BY bm25(search_entry_fts, 10.0, 3.0, 1.0), e.id
            LIMIT %s OFFSET %s
        """  # noqa: S608 (every value is a parameter; the permitted SQL is the ORM's)
        return sql, [
            MARK_START,
            MARK_END,
            fts5_expression(query),
            *permitted_params,
            limit,
            offset,
        ]


class PostgreSQLBackend(Backend):
    vendor = "postgresql"

    def statement(self, query, permitted, *, limit, offset):
        permitted_sql, permitted_params = permitted
        # One passage from the best match on (fragments would drop the words before it).
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8"
        # The headline is worked out for the page only, after ranking and the limit.
        sql = f"""
            WITH q AS (SELECT websearch_to_tsquery('{TEXT_SEARCH_CONFIG}', %s) AS query),
            ranked AS (
                SELECT e.id, ts_rank(e.vector, q.query) AS score
                FROM search_entry e, q
                WHERE e.vector @@ q.query AND e.id IN ({permitted_sql})
                ORDER BY score DESC, e.id
                LIMIT %s OFFSET %s
            )
            SELECT {_COLUMNS},
                   ts_headline(
                       '{TEXT_SEARCH_CONFIG}',
                       coalesce(
                           nullif(
                               concat_ws(' … ', nullif(e.body, ''), nullif(e.extracted, '')), ''
                           ),
                           e.title
                       ),
                       q.query,
                       %s
                   )
            FROM ranked
            JOIN search_entry e ON e.id = ranked.id
            LEFT JOIN accounts_clientaccount a ON a.id = e.account_id
            CROSS JOIN q
            ORDER BY ranked.score DESC, ranked.id
        """  # noqa: S608 (every value is a parameter; the permitted SQL is the ORM's)
        return sql, [websearch_text(query), *permitted_params, limit, offset, options]


_BACKENDS = {b.vendor: b for b in (SQLiteBackend(), PostgreSQLBackend())}


def backend() -> Backend:
    """The backend for the database in use; ImproperlyConfigured for any other."""
    try:
        return _BACKENDS[connection.vendor]
    except KeyError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"Search runs on PostgreSQL or SQLite, not {connection.vendor}."
        ) from None
