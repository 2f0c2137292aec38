from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "refloop.campaigns"
    verbose_name = "E-mail campaigns to clinicians and their offices"
