from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "refloop.campaigns"
    verbose_name = "E-mail campaigns to clinicians and their offices"

    def ready(self):
        from refloop.campaigns import checks  # noqa: F401  (registers the system checks)
