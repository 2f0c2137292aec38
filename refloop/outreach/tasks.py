"""Thin tasks: take an id, call a service."""

from django_tasks import task


@task()
def invitation_send_task(invitation_id: int) -> None:
    from refloop.outreach.services.events import invitation_send

    invitation_send(invitation_id=invitation_id)


@task()
def cancel_notice_task(registration_id: int) -> None:
    from refloop.outreach.services.notices import cancel_notice_send

    cancel_notice_send(registration_id=registration_id)
