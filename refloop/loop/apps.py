from django.apps import AppConfig


class LoopConfig(AppConfig):
    name = "refloop.loop"
    label = "loop"
