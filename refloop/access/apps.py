from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "refloop.access"
    label = "access"
