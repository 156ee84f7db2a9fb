"""Fixtures of the evidence tests."""

from __future__ import annotations

import pytest
from django.db import connection

import evidence


def append_some(count: int, *, subject: str = "tst_subject", actor=None, start: int = 0) -> list:
    return [
        evidence.append(actor=actor, kind="test.note", subject=subject, payload={"n": start + n})
        for n in range(count)
    ]


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
