"""The firm's support settings, read side: the one ``SupportSettings`` row and the business
calendar it describes. Writes are ``support.services.settings``."""

from __future__ import annotations

import logging

from support.clock import Calendar, CalendarError
from support.models import SupportSettings

log = logging.getLogger(__name__)


def current() -> SupportSettings:
    """The firm's one settings row, made with the defaults (always open, UTC, reopen within
    7 days, warn 60 minutes ahead) on first use."""
    found, _ = SupportSettings.objects.get_or_create(singleton=True)
    return found


def calendar(found: SupportSettings | None = None) -> Calendar:
    """The business calendar of ``found`` (else ``current()``). A stored calendar that no
    longer parses (a time zone dropped from the system's database) is logged and read as
    always open, so that clocks keep running rather than every write failing."""
    found = found if found is not None else current()
    try:
        return Calendar.of(found.time_zone, found.hours, found.holidays)
    except CalendarError:
        log.exception("the support calendar does not parse; counting every second")
        return Calendar.of("UTC")
