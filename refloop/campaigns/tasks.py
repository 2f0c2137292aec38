"""Thin tasks: take an id, call a service."""

from django_tasks import task


@task()
def campaign_send_task(campaign_id: int) -> None:
    from refloop.campaigns.sending import campaign_send

    campaign_send(campaign_id=campaign_id)
