"""`manage.py refloop_scheduler`: the loop that does periodic work (DESIGN.md, Background work).

Each domain app lists its jobs in `<app>/jobs.py` (JOBS); settings.REFLOOP_SCHEDULER_JOBS names
the modules. Every job derives what is due from its own rows and claims them with a lease
(core.scheduling), so this command can run on as many machines as you like.
"""

import datetime as dt
import logging
import signal
import time
from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from refloop.core.scheduling import Job

log = logging.getLogger("refloop.scheduler")


def scheduler_jobs() -> list[Job]:
    return [job for path in settings.REFLOOP_SCHEDULER_JOBS for job in import_module(path).JOBS]


def scheduler_pass(jobs: list[Job], last_run: dict[str, dt.datetime], *, force=False) -> dict:
    """Run every job that is due; one failing job does not stop the others."""
    handled = {}
    for job in jobs:
        now = timezone.now()
        if not force and job.name in last_run and now - last_run[job.name] < job.every:
            continue
        last_run[job.name] = now
        try:
            handled[job.name] = job.run(now)
        except Exception:
            # Ids and codes only: the traceback names no patient (services raise without PHI).
            log.exception("scheduler job %s failed", job.name)
            handled[job.name] = None
    return handled


class Command(BaseCommand):
    help = "Run periodic work (clocks, alerts, reminders, offers, re-asks) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes.")

    def handle(self, *args, once, interval, **options):
        jobs = scheduler_jobs()
        last_run: dict[str, dt.datetime] = {}
        if once:
            handled = scheduler_pass(jobs, last_run, force=True)
            for name, count in handled.items():
                self.stdout.write(f"{name}: {'failed' if count is None else count}")
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"Scheduler running {len(jobs)} jobs every {interval:g}s.")
        try:
            while not stopping:
                close_old_connections()
                scheduler_pass(jobs, last_run)
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
