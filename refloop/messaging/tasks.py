"""Thin tasks: take an id, call a service."""

from django_tasks import task


@task()
def message_send_task(message_id: int) -> None:
    from refloop.messaging.sending import message_send

    message_send(message_id=message_id)
