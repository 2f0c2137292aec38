"""Thin tasks: take an id, call a service."""

from django_tasks import task


@task()
def import_run_task(run_id: int) -> None:
    from refloop.interop.files.services import import_run_process

    import_run_process(run_id=run_id)
