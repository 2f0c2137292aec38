"""Tasks of core: a heartbeat that proves a worker is taking work off the queue."""

from django.utils import timezone
from django_tasks import task

from refloop.core.models import JobRun


@task()
def heartbeat_task(token: str) -> None:
    JobRun.objects.filter(job="heartbeat", period=token).update(finished_at=timezone.now())
