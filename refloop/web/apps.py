from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "refloop.web"
    label = "web"
