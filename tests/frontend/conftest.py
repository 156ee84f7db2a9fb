"""Fixtures for these tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Request counters (password resets) live in the cache, which outlives a test: each test
    starts from none."""
    cache.clear()
    yield
    cache.clear()
