"""Periodic work of campaigns (refloop_scheduler)."""

from refloop.core.scheduling import Job  # noqa: F401

JOBS: list = []
