from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "refloop.demo"
    label = "demo"
    verbose_name = "Refloop demo data"
