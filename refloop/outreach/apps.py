from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "refloop.outreach"
    verbose_name = "Outreach (visits, events, follow-ups)"
