from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "refloop.cli"
    label = "cli"
