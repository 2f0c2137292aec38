from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "refloop.alerts"
    verbose_name = "Alerts"
