"""Bringing the fact table up to date, as the scheduler does, before a page reads it."""

from refloop.analytics.sources import facts_rebuild_all


def facts_current() -> None:
    facts_rebuild_all()
