"""`manage.py refloop_check_tasks`: queue a heartbeat task and wait until a worker has run it.

Exit status 0 means the configured task backend (database or Redis) and its worker work end to
end; use it after deploying, or from monitoring."""

import datetime as dt
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from refloop.core.models import JobRun
from refloop.core.scheduling import scheduler_owner
from refloop.core.tasks import heartbeat_task


class Command(BaseCommand):
    help = "Check that a task worker is running: queue a heartbeat and wait for it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        token = uuid.uuid4().hex
        now = timezone.now()
        with transaction.atomic():
            JobRun.objects.create(
                job="heartbeat",
                period=token,
                started_at=now,
                lease_until=now + dt.timedelta(seconds=timeout),
                owner=scheduler_owner(),
            )
            transaction.on_commit(lambda: heartbeat_task.enqueue(token))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if JobRun.objects.filter(period=token, finished_at__isnull=False).exists():
                waited = (timezone.now() - now).total_seconds()
                self.stdout.write(f"A worker ran the heartbeat after {waited:.1f} s.")
                return
            time.sleep(0.2)
        raise CommandError(f"No worker ran the heartbeat within {timeout:g} s.")
